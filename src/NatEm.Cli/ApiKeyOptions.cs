using System.CommandLine;
using NatEm.Cli.Serving;

namespace NatEm.Cli;

/// <summary>
/// `--api-key` / `--api-key-file`, shared by `serve` (the key it requires) and `loadtest` (the key it sends).
/// The file form keeps the key out of the process list and the shell history.
/// </summary>
public sealed class ApiKeyOptions
{
    public readonly Option<string?> Key;
    public readonly Option<string?> File = new("--api-key-file") { Description = "Read the API keys from this file: one per line, each optionally followed by its own rate limit N/min (blank lines and # comments skipped)" };

    public ApiKeyOptions(string keyDescription) => Key = new("--api-key") { Description = keyDescription };

    public void AddTo(Command command) => command.Add([Key, File]);

    /// <summary>The first key (the one a client sends), or null when neither option is given.</summary>
    public string? Bind(ParseResult p) => BindAll(p).FirstOrDefault()?.Key;

    /// <summary>Every key: the one of --api-key, or those of --api-key-file (see <see cref="ApiKeyEntry.ParseFile"/>); empty when neither is given.</summary>
    public IReadOnlyList<ApiKeyEntry> BindAll(ParseResult p)
    {
        var (key, path) = (p.GetValue(Key), p.GetValue(File));
        if (key is not null && path is not null) throw new NatEmException("give --api-key or --api-key-file, not both", ExitCodes.Usage);
        if (path is null) return key is null ? [] : [new ApiKeyEntry(key)];
        if (Directory.Exists(path)) throw NatEmException.In(path, "is a directory; give the file that holds the API key");
        string[] lines;
        try
        {
            lines = System.IO.File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot read the API key: {e.Message}");
        }
        return ApiKeyEntry.ParseFile(path, lines);
    }
}
