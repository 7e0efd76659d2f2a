using NatEm.IO;
using NatEm.Text;

namespace NatEm.Data;

/// <summary>Normalized parallel sentences (<see cref="TextNormalizer"/>) read from one input, whose file name(s)
/// <see cref="Origin"/> gives for messages and the manifest.</summary>
public sealed record ParallelText(string Origin, string[] Source, string[] Target)
{
    public int Count => Source.Length;
}

/// <summary>A user-given parallel corpus: one TSV file or two aligned plain-text files.</summary>
public abstract record CorpusInput
{
    /// <summary>A UTF-8 TSV file (optionally gzip-compressed) with a header line naming the columns; the source and
    /// target columns are chosen by name. Fields are split at every tab; there is no quoting.</summary>
    public sealed record Tsv(string Path) : CorpusInput;

    /// <summary>Two UTF-8 files with one sentence per line, line i of one translating line i of the other.</summary>
    public sealed record FilePair(string SourcePath, string TargetPath) : CorpusInput;

    /// <summary>Reads and normalizes the corpus; the column names only matter for TSV.</summary>
    public ParallelText Read(string sourceColumn, string targetColumn) => this switch
    {
        Tsv tsv => CorpusReader.ReadTsv(tsv.Path, sourceColumn, targetColumn),
        FilePair pair => CorpusReader.ReadFilePair(pair.SourcePath, pair.TargetPath),
        _ => throw new InvalidOperationException($"unknown corpus input {GetType().Name}"),
    };
}

/// <summary>Reads corpora strictly: malformed input is a <see cref="NatEmException"/> naming the file and line.</summary>
public static class CorpusReader
{
    public static ParallelText ReadTsv(string path, string sourceColumn, string targetColumn)
    {
        using var reader = Utf8LineReader.Open(path);
        var columns = ReadTsvColumns(reader, [sourceColumn, targetColumn]);
        return new ParallelText(path, NormalizeAll(columns[0]), NormalizeAll(columns[1]));
    }

    /// <summary>
    /// The raw (not normalized) fields of the named columns, one list per name. Every line must have as many
    /// tab-separated fields as the header; data row i is on line i + 2.
    /// </summary>
    public static List<string>[] ReadTsvColumns(Utf8LineReader reader, IReadOnlyList<string> names)
    {
        if (!reader.TryReadLine(out var headerLine))
            throw NatEmException.At(reader.FileName, 1, "empty file (expected a header line naming the tab-separated columns)");
        var header = headerLine.Split('\t');
        for (var i = 0; i < header.Length; i++)
            if (Array.IndexOf(header, header[i], 0, i) >= 0)
                throw NatEmException.At(reader.FileName, 1, $"duplicate column name '{header[i]}'");

        var indices = names.Select(name => Array.IndexOf(header, name) is var index and >= 0
            ? index
            : throw NatEmException.At(reader.FileName, 1,
                $"no column named '{name}'; available columns: {string.Join(", ", header)}")).ToArray();

        var columns = names.Select(_ => new List<string>()).ToArray();
        var fields = new Range[header.Length + 1];
        while (reader.TryReadLine(out var line))
        {
            var count = line.AsSpan().Split(fields, '\t');
            if (count != header.Length)
                throw NatEmException.At(reader.FileName, reader.LineNumber,
                    $"expected {header.Length} tab-separated fields ({string.Join(", ", header)}), found {CountFields(line)}");
            for (var c = 0; c < indices.Length; c++) columns[c].Add(line[fields[indices[c]]]);
        }
        if (columns[0].Count == 0) throw NatEmException.At(reader.FileName, 2, "no data rows after the header line");
        return columns;
    }

    private static int CountFields(string line) => line.AsSpan().Count('\t') + 1;

    public static ParallelText ReadFilePair(string sourcePath, string targetPath)
    {
        using var source = Utf8LineReader.Open(sourcePath);
        using var target = Utf8LineReader.Open(targetPath);
        List<string> sourceLines = [], targetLines = [];
        while (true)
        {
            var hasSource = source.TryReadLine(out var sourceLine);
            var hasTarget = target.TryReadLine(out var targetLine);
            if (hasSource && hasTarget)
            {
                sourceLines.Add(sourceLine!);
                targetLines.Add(targetLine!);
                continue;
            }
            if (hasSource || hasTarget) throw LineCountMismatch(hasSource ? source : target, hasSource ? target : source);
            break;
        }
        if (sourceLines.Count == 0) throw NatEmException.At(sourcePath, 1, $"empty file (and so is {targetPath})");
        return new ParallelText($"{sourcePath} + {targetPath}", NormalizeAll(sourceLines), NormalizeAll(targetLines));
    }

    /// <summary>Counts the rest of the longer file so that the message can give both line counts.</summary>
    private static NatEmException LineCountMismatch(Utf8LineReader longer, Utf8LineReader shorter)
    {
        var shorterCount = longer.LineNumber - 1;
        while (longer.TryReadLine(out _)) { }
        return NatEmException.At(longer.FileName, shorterCount + 1,
            $"line counts differ: {longer.FileName} has {longer.LineNumber} lines but {shorter.FileName} has {shorterCount}");
    }

    internal static string[] NormalizeAll(List<string> lines)
    {
        var normalized = new string[lines.Count];
        Parallel.For(0, lines.Count, i => normalized[i] = TextNormalizer.Normalize(lines[i]));
        return normalized;
    }
}
