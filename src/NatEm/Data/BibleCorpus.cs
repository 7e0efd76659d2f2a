using NatEm.IO;
namespace NatEm.Data;

/// <summary>The three splits of a corpus.</summary>
public sealed record CorpusSplits(ParallelText Train, ParallelText Valid, ParallelText Test);

/// <summary>
/// The bundled English–Spanish Bible (World English Bible / Reina-Valera 1909, 31,077 verses; TSV columns
/// <c>ref</c>, <c>en</c>, <c>es</c>) and its fixed benchmark split by book, so that no chapter leaks between sets.
/// </summary>
public static class BibleCorpus
{
    public const string ResourceName = "NatEm.Data.bible-web-rv1909.en-es.tsv.gz";
    public const string FileName = "bible-web-rv1909.en-es.tsv.gz";
    public const string ReferenceColumn = "ref";

    /// <summary>738 verses.</summary>
    public static readonly IReadOnlySet<string> ValidBooks = new HashSet<string>
        { "Ruth", "Lamentations", "Joel", "Jonah", "Micah", "Colossians", "Titus", "Philemon", "James" };

    /// <summary>1,258 verses.</summary>
    public static readonly IReadOnlySet<string> TestBooks = new HashSet<string>
        { "Esther", "Daniel", "Hosea", "Galatians", "Ephesians", "Philippians", "I Peter", "Jude" };

    public static Stream Open() =>
        typeof(BibleCorpus).Assembly.GetManifestResourceStream(ResourceName)
        ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from the NatEm assembly");

    /// <summary>The book of a verse reference: everything before the last space ("I Peter 1:3" → "I Peter").</summary>
    public static string BookOf(string reference)
    {
        var space = reference.LastIndexOf(' ');
        return space > 0 ? reference[..space] : reference;
    }

    /// <summary>Reads the bundled corpus and splits it by book (every book not in a valid or test list is train).</summary>
    public static CorpusSplits ReadSplits(string sourceColumn, string targetColumn)
    {
        using var reader = new Utf8LineReader(Open(), FileName);
        var columns = CorpusReader.ReadTsvColumns(reader, [ReferenceColumn, sourceColumn, targetColumn]);
        var splits = new Dictionary<string, (List<string> Source, List<string> Target)>
        {
            ["train"] = ([], []), ["valid"] = ([], []), ["test"] = ([], []),
        };
        var booksSeen = new HashSet<string>();
        for (var i = 0; i < columns[0].Count; i++)
        {
            var book = BookOf(columns[0][i]);
            booksSeen.Add(book);
            var split = splits[ValidBooks.Contains(book) ? "valid" : TestBooks.Contains(book) ? "test" : "train"];
            split.Source.Add(columns[1][i]);
            split.Target.Add(columns[2][i]);
        }
        var missing = ValidBooks.Concat(TestBooks).Where(book => !booksSeen.Contains(book)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"{FileName} lacks the split's books {string.Join(", ", missing)}");

        ParallelText Text(string name) => new($"{FileName} ({name} books)",
            CorpusReader.NormalizeAll(splits[name].Source), CorpusReader.NormalizeAll(splits[name].Target));
        return new CorpusSplits(Text("train"), Text("valid"), Text("test"));
    }
}
