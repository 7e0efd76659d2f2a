using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using NatEm.IO;
using NatEm.Text;

namespace NatEm.Data;

/// <summary>One split of prepared data: token ids without bos/eos, and the normalized text of each sentence.</summary>
public sealed record ParallelSplit(string Name, int[][] Source, int[][] Target, string[] SourceText, string[] TargetText)
{
    public int Count => Source.Length;

    /// <summary>Sentences 0, n, 2n, …: a fixed subset spread over the whole split.</summary>
    public ParallelSplit EveryNth(int n) => this with
    {
        Name = $"{Name} (every {n}th)",
        Source = Source.Where((_, i) => i % n == 0).ToArray(),
        Target = Target.Where((_, i) => i % n == 0).ToArray(),
        SourceText = SourceText.Where((_, i) => i % n == 0).ToArray(),
        TargetText = TargetText.Where((_, i) => i % n == 0).ToArray(),
    };

    /// <summary>The first <paramref name="count"/> sentences (all of them when there are fewer).</summary>
    public ParallelSplit Take(int count)
    {
        int n = Math.Min(count, Count);
        return this with { Source = Source[..n], Target = Target[..n], SourceText = SourceText[..n], TargetText = TargetText[..n] };
    }
}

/// <summary>
/// A directory written by <c>natem prepare</c> (<see cref="DataPreparer"/>):
/// <list type="bullet">
/// <item><c>manifest.json</c> — <see cref="DataManifest"/>, written last;</item>
/// <item>tokenizer files — <c>vocab.json</c> + <c>merges.txt</c> (BPE) or <c>sentencepiece.model</c>;</item>
/// <item>per split S: <c>S.src.bin</c>, <c>S.tgt.bin</c> (<see cref="TokenIdFile"/>) and the normalized text
/// <c>S.{source language}</c>, <c>S.{target language}</c>, one sentence per line.</item>
/// </list>
/// Loading reads the manifest and the tokenizer and checks that every file is present; a split's files are read
/// and checked against the manifest on first use and then cached.
/// </summary>
public sealed class PreparedData
{
    private readonly ConcurrentDictionary<string, Lazy<ParallelSplit>> _splits = new();

    public string Directory { get; }
    public DataManifest Manifest { get; }
    public ISubwordTokenizer Tokenizer { get; }

    private PreparedData(string directory, DataManifest manifest, ISubwordTokenizer tokenizer) =>
        (Directory, Manifest, Tokenizer) = (directory, manifest, tokenizer);

    /// <summary>What <c>natem prepare</c> writes into its directory: an earlier preparation it may replace.</summary>
    public static readonly OutputKind OutputKind = new("a prepared data directory (natem prepare)", new Regex(
        $"^({string.Join("|", new[] { DataManifest.FileName, BpeSubwordTokenizer.VocabFileName, BpeSubwordTokenizer.MergesFileName, SentencePieceSubwordTokenizer.ModelFileName }.Select(Regex.Escape))}"
        + @"|(train|valid|test)\.[^.]+(\.bin)?)$"));

    public static string SourceIdsFile(string split) => $"{split}.src.bin";
    public static string TargetIdsFile(string split) => $"{split}.tgt.bin";
    public static string TextFile(string split, string language) => $"{split}.{language}";

    public static PreparedData Load(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
            throw NatEmException.In(dir, "prepared data directory not found (create it with: natem prepare --out DIR)");
        var manifest = ReadManifest(Path.Combine(dir, DataManifest.FileName));

        var manifestPath = Path.Combine(dir, DataManifest.FileName);
        foreach (var file in manifest.Tokenizer.Files.Concat(manifest.Splits.SelectMany(s => FilesOf(s.Name, manifest))))
            if (!File.Exists(PlainFileName.In(dir, file, manifestPath, ExitCodes.BadInput)))
                throw NatEmException.In(Path.Combine(dir, file), $"missing (listed by {DataManifest.FileName}); rerun natem prepare");

        var tokenizer = TokenizerFiles.Load(dir, manifest.Tokenizer.Kind);
        if (tokenizer.VocabSize != manifest.Tokenizer.VocabSize)
            throw NatEmException.In(Path.Combine(dir, manifest.Tokenizer.Files[0]),
                $"vocabulary has {tokenizer.VocabSize} tokens but {DataManifest.FileName} says {manifest.Tokenizer.VocabSize}");
        return new PreparedData(dir, manifest, tokenizer);
    }

    private static IEnumerable<string> FilesOf(string split, DataManifest manifest) =>
        [SourceIdsFile(split), TargetIdsFile(split), TextFile(split, manifest.SourceLanguage), TextFile(split, manifest.TargetLanguage)];

    private static DataManifest ReadManifest(string path)
    {
        if (!File.Exists(path))
            throw NatEmException.In(path, "missing: not a prepared data directory, or preparation did not finish (rerun natem prepare)");
        JsonElement json;
        try
        {
            json = JsonDocument.Parse(File.ReadAllBytes(path)).RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"invalid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
        // Check the version before the rest, so that a newer layout gets the upgrade message rather than a field error.
        // format 1 named it formatVersion (camelCase), later formats format_version
        if (json.ValueKind != JsonValueKind.Object
            || !(json.TryGetProperty("format_version", out var versionJson) || json.TryGetProperty("formatVersion", out versionJson))
            || !versionJson.TryGetInt32(out var version) || version < 1)
            throw NatEmException.In(path, "no valid format_version");
        if (version > DataManifest.CurrentFormatVersion)
            throw NatEmException.In(path,
                $"format version {version} is newer than this natem supports ({DataManifest.CurrentFormatVersion}); upgrade natem or rerun natem prepare");
        try
        {
            var manifest = json.Deserialize<DataManifest>(DataManifest.JsonFor(version));
            if (manifest?.Tokenizer?.Files is not { Count: > 0 } || manifest.Splits is null || manifest.Filter is null
                || string.IsNullOrEmpty(manifest.SourceLanguage) || string.IsNullOrEmpty(manifest.TargetLanguage))
                throw NatEmException.In(path, "incomplete manifest (missing languages, tokenizer, filter or splits)");
            return manifest;
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"invalid manifest: {e.Message}");
        }
    }

    /// <summary>"train", "valid" or "test" (whichever were prepared); loaded on first use, then cached.</summary>
    public ParallelSplit Split(string name)
    {
        if (Manifest.FindSplit(name) is not { } statistics)
            throw new NatEmException(
                $"{Directory}: no split '{name}'; prepared splits: {string.Join(", ", Manifest.Splits.Select(s => s.Name))}",
                ExitCodes.Usage);
        return _splits.GetOrAdd(name, _ => new Lazy<ParallelSplit>(() => LoadSplit(statistics))).Value;
    }

    private ParallelSplit LoadSplit(SplitStatistics statistics)
    {
        var name = statistics.Name;
        var source = ReadIds(SourceIdsFile(name), statistics.Kept);
        var target = ReadIds(TargetIdsFile(name), statistics.Kept);
        var sourceText = ReadText(TextFile(name, Manifest.SourceLanguage), statistics.Kept);
        var targetText = ReadText(TextFile(name, Manifest.TargetLanguage), statistics.Kept);
        return new ParallelSplit(name, source, target, sourceText, targetText);
    }

    private int[][] ReadIds(string file, int expected)
    {
        var path = Path.Combine(Directory, file);
        var sentences = TokenIdFile.Read(path, Tokenizer.VocabSize);
        if (sentences.Length != expected) throw CountMismatch(path, sentences.Length, expected);
        return sentences;
    }

    private string[] ReadText(string file, int expected)
    {
        var path = Path.Combine(Directory, file);
        using var reader = Utf8LineReader.Open(path);
        var lines = new List<string>(expected);
        while (reader.TryReadLine(out var line)) lines.Add(line);
        if (lines.Count != expected) throw CountMismatch(path, lines.Count, expected);
        return [.. lines];
    }

    private static NatEmException CountMismatch(string path, int actual, int expected) =>
        NatEmException.In(path, $"has {actual} sentences but {DataManifest.FileName} says {expected}; rerun natem prepare");
}
