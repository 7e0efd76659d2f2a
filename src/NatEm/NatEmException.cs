namespace NatEm;

/// <summary>Process exit codes, documented in the README ("Errors and recovery").</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>An unexpected internal error (a bug): rerun with --verbose and report it.</summary>
    public const int InternalError = 1;
    /// <summary>Command-line usage error (unknown option, invalid value).</summary>
    public const int Usage = 2;
    /// <summary>A user-supplied data file (corpus, references, tokenizer, prepared data) is malformed.</summary>
    public const int BadInput = 3;
    /// <summary>A model directory is missing, corrupt or of an unsupported format version; or a model does not fit what it
    /// is combined with (the other kind, or data or a model of another vocabulary).</summary>
    public const int BadModel = 4;
    /// <summary>The environment refused: a path cannot be read or written (permission denied, a directory where a
    /// file is expected or the reverse, a full or read-only disk), or `serve` cannot listen on an address (in use,
    /// not on this machine, a privileged port).</summary>
    public const int Environment = 5;
    /// <summary>Interrupted by SIGINT/SIGTERM after saving a resumable checkpoint.</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// An error the user can fix. The message is one line, shaped "file:line: problem" (or "file: problem")
/// and is printed without a stack trace. Control characters in it (a path with a newline, a value with ESC) are escaped.
/// </summary>
public class NatEmException(string message, int exitCode = ExitCodes.BadInput, Exception? inner = null)
    : Exception(OneLine(message), inner)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>
    /// The text with its control characters (newlines, ESC, ...) and line separators written as escapes (\n, \r, \t,
    /// \u001B), so that a path or value quoted in a message can neither break a one-line error nor send terminal commands.
    /// </summary>
    public static string OneLine(string text)
    {
        static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
            escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when NeedsEscape(c) => $"\\u{(int)c:X4}",
                _ => c.ToString(),
            });
        return escaped.ToString();
    }

    /// <summary>An error located at a line of a file (1-based line number).</summary>
    public static NatEmException At(string file, long line, string problem, int exitCode = ExitCodes.BadInput) =>
        new($"{file}:{line}: {problem}", exitCode);

    /// <summary>An error about a whole file or a field in it.</summary>
    public static NatEmException In(string file, string problem, int exitCode = ExitCodes.BadInput) =>
        new($"{file}: {problem}", exitCode);
}
