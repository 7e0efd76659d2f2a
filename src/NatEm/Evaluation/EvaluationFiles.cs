using NatEm.IO;

namespace NatEm.Evaluation;

/// <summary>Reads hypothesis and reference files the way the sacreBLEU command line does.</summary>
public static class EvaluationFiles
{
    /// <summary>
    /// The lines of a UTF-8 file, split on '\n' only and stripped of trailing whitespace (so a '\r' inside a
    /// line stays, as in sacreBLEU; a leading BOM stays too). Read as a stream, with <see cref="Utf8LineReader"/>'s
    /// bound on the line length. Invalid UTF-8 is an error naming the file and line.
    /// </summary>
    public static IReadOnlyList<string> ReadLines(string path)
    {
        using var reader = Utf8LineReader.Open(path, keepByteOrderMark: true);
        return [.. reader.Lines().Select(PythonText.RStrip)];
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
