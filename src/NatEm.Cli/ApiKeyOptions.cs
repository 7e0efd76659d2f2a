using System.CommandLine;

namespace NatEm.Cli;

/// <summary>
/// `--api-key` / `--api-key-file`, shared by `serve` (the key it requires) and `loadtest` (the key it sends).
/// The file form keeps the key out of the process list and the shell history.
/// </summary>
public sealed class ApiKeyOptions
{
    public readonly Option<string?> Key;
    public readonly Option<string?> File = new("--api-key-file") { Description = "Read the API key from this file (surrounding whitespace ignored)" };

    public ApiKeyOptions(string keyDescription) => Key = new("--api-key") { Description = keyDescription };

    public void AddTo(Command command)
    {
        command.Options.Add(Key);
        command.Options.Add(File);
    }

    /// <summary>The key, or null when neither option is given.</summary>
    public string? Bind(ParseResult p)
    {
        var (key, path) = (p.GetValue(Key), p.GetValue(File));
        if (key is not null && path is not null) throw new NatEmException("give --api-key or --api-key-file, not both", ExitCodes.Usage);
        if (path is null) return key;
        if (Directory.Exists(path)) throw NatEmException.In(path, "is a directory; give the file that holds the API key");
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot read the API key: {e.Message}");
        }
        if (text.Length == 0 || text.Any(char.IsWhiteSpace)) throw NatEmException.In(path, "must hold the API key: one word, no spaces");
        return text;
    }
}
