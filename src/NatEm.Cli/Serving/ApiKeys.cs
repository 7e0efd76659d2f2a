using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NatEm.Cli.Serving;

/// <summary>One API key the server accepts, with its own requests-per-minute limit (null: the server's --rate-limit).</summary>
public sealed record ApiKeyEntry(string Key, int? RequestsPerMinute = null)
{
    /// <summary>
    /// An --api-key-file: one key per line, optionally followed by its limit as <c>N/min</c>
    /// (<c>s3cret 120/min</c>); blank lines and lines starting with '#' are skipped. A bad line is an error naming it.
    /// </summary>
    public static IReadOnlyList<ApiKeyEntry> ParseFile(string path, IReadOnlyList<string> lines)
    {
        var keys = new List<ApiKeyEntry>();
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            NatEmException Bad(string problem) => new($"{path}:{i + 1}: {problem}", ExitCodes.BadInput);
            if (words.Length > 2) throw Bad("expected KEY or KEY N/min (a key has no spaces)");
            int? limit = words.Length == 2 ? RateLimit.ParsePerMinute(words[1], $"{path}:{i + 1}", ExitCodes.BadInput) : null;
            if (keys.Any(k => k.Key == words[0])) throw Bad("this key is listed twice");
            keys.Add(new ApiKeyEntry(words[0], limit));
        }
        if (keys.Count == 0) throw new NatEmException($"{path}: must hold the API key: one per line, optionally followed by its limit N/min", ExitCodes.BadInput);
        return keys;
    }
}

/// <summary>Parses the rate limits of --rate-limit and the key file: <c>N/min</c> or plain <c>N</c> requests per minute.</summary>
public static class RateLimit
{
    public static int ParsePerMinute(string text, string where, int exitCode = ExitCodes.Usage)
    {
        var number = text.EndsWith("/min", StringComparison.OrdinalIgnoreCase) ? text[..^4] : text;
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var perMinute) || perMinute < 1)
            throw new NatEmException($"{where}: '{text}' is not a rate limit; write N/min with N a whole number of at least 1, e.g. 60/min", exitCode);
        return perMinute;
    }
}

/// <summary>
/// The keys a server accepts, compared in constant time: each candidate is hashed (so lengths do not leak) and
/// compared with every key's hash.
/// </summary>
public sealed class ApiKeyRing
{
    private readonly (byte[] Hash, ApiKeyEntry Entry)[] keys;

    public ApiKeyRing(IReadOnlyList<ApiKeyEntry> entries) =>
        keys = [.. entries.Select(e => (SHA256.HashData(Encoding.UTF8.GetBytes(e.Key)), e))];

    /// <summary>True when the server requires a key.</summary>
    public bool Required => keys.Length > 0;

    /// <summary>The entry of <paramref name="key"/>, or null if the server does not accept it.</summary>
    public ApiKeyEntry? Find(string? key)
    {
        if (key is null) return null;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        ApiKeyEntry? found = null;
        foreach (var (candidate, entry) in keys)
            if (CryptographicOperations.FixedTimeEquals(hash, candidate)) found = entry;
        return found;
    }

    public bool Contains(string key) => Find(key) is not null;
}
