using System.Text;

namespace NatEm.Evaluation;

/// <summary>Reads hypothesis and reference files the way the sacreBLEU command line does.</summary>
public static class EvaluationFiles
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The lines of a UTF-8 file, split on '\n' only and stripped of trailing whitespace (so a '\r' inside a
    /// line stays, as in sacreBLEU). Invalid UTF-8 is an error naming the file and line.
    /// </summary>
    public static IReadOnlyList<string> ReadLines(string path)
    {
        if (Directory.Exists(path)) throw NatEmException.In(path, "is a directory; expected a file", ExitCodes.Environment);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NatEmException.In(path, "file not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw NatEmException.In(path, $"cannot read: {e.Message}", ExitCodes.Environment);
        }

        var lines = new List<string>();
        int start = 0;
        while (start < bytes.Length)
        {
            int newline = Array.IndexOf(bytes, (byte)'\n', start);
            int end = newline < 0 ? bytes.Length : newline;
            try
            {
                lines.Add(PythonText.RStrip(StrictUtf8.GetString(bytes, start, end - start)));
            }
            catch (DecoderFallbackException)
            {
                throw NatEmException.At(path, lines.Count + 1, "invalid UTF-8");
            }
            start = end + 1;
        }
        return lines;
    }

    /// <summary>
    /// Reads a hypothesis file and its reference files, which must all have the same number of lines.
    /// </summary>
    public static (IReadOnlyList<string> Hypotheses, IReadOnlyList<IReadOnlyList<string>> References) ReadParallel(
        string hypothesisPath, params IReadOnlyList<string> referencePaths)
    {
        var hypotheses = ReadLines(hypothesisPath);
        var references = new List<IReadOnlyList<string>>(referencePaths.Count);
        foreach (var referencePath in referencePaths)
        {
            var lines = ReadLines(referencePath);
            if (lines.Count != hypotheses.Count)
                throw NatEmException.In(
                    referencePath,
                    $"{LineCount(lines.Count)} of references but the hypothesis file {hypothesisPath} has "
                    + $"{LineCount(hypotheses.Count)}; every hypothesis needs exactly one reference line");
            references.Add(lines);
        }
        return (hypotheses, references);
    }

    private static string LineCount(int count) => count == 1 ? "1 line" : $"{count} lines";
}
