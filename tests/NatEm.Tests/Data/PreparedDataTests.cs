using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.IO;
using NatEm.Text;

namespace NatEm.Tests.Data;

/// <summary>A small synthetic corpus prepared once: train as two files, valid as TSV, no test split.</summary>
public sealed class PreparedCorpusFixture : IDisposable
{
    private readonly TempDirectory _inputs = new();
    private readonly TempDirectory _output = new();

    public string Directory => _output.Path;
    public List<(string Source, string Target)> KeptTrain { get; } = [];
    public PrepareResult Result { get; }

    public PreparedCorpusFixture()
    {
        string[] english = ["the", "house", "is", "small", "my", "friend", "sees", "a", "dog", "cat", "big", "red", "water"];
        string[] spanish = ["la", "casa", "es", "pequeña", "mi", "amigo", "ve", "un", "perro", "gato", "grande", "rojo", "agua"];
        var random = new Random(11);
        List<string> sources = [], targets = [];
        for (var i = 0; i < 300; i++)
        {
            var words = Enumerable.Range(0, random.Next(2, 12)).Select(_ => random.Next(english.Length)).ToArray();
            var source = string.Join(' ', words.Select(w => english[w])) + ".";
            var target = string.Join(' ', words.Select(w => spanish[w])) + ".";
            // Raw input with messy whitespace; the prepared text is normalized.
            sources.Add("  " + source.Replace(" ", "  "));
            targets.Add(target + "\t ");
            KeptTrain.Add((source, target));
        }
        // Dropped: an empty side, a word-count ratio of 5, and 30 words of rare letters (over 40 tokens, not over 40 words).
        sources.AddRange(["lonely", "one two", string.Join(' ', Enumerable.Repeat("qxjz", 30))]);
        targets.AddRange(["", "uno dos tres cuatro cinco seis siete ocho nueve diez", string.Join(' ', Enumerable.Repeat("zjxq", 30))]);

        Result = DataPreparer.Prepare(new PrepareOptions
        {
            OutputDirectory = Directory,
            Train = new CorpusInput.FilePair(_inputs.Write("train.en", string.Join('\n', sources)), _inputs.Write("train.es", string.Join('\n', targets))),
            Valid = new CorpusInput.Tsv(_inputs.Write("valid.tsv", "es\ten\nla casa.\tthe house.\nun perro rojo\ta red dog\n")),
            TestSize = 0,
            Merges = 60,
            Filter = new FilterOptions(MaxTokens: 40),
        });
    }

    /// <summary>A copy of the prepared directory that a test may damage.</summary>
    public string Copy(TempDirectory into)
    {
        foreach (var file in System.IO.Directory.GetFiles(Directory)) File.Copy(file, into.File(Path.GetFileName(file)));
        return into.Path;
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _output.Dispose();
    }
}

public sealed class PreparedDataTests(PreparedCorpusFixture corpus) : IClassFixture<PreparedCorpusFixture>, IDisposable
{
    private readonly TempDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void LoadRoundTripsTextsAndTokenIds()
    {
        var data = PreparedData.Load(corpus.Directory);
        var train = data.Split("train");
        Assert.Equal(corpus.KeptTrain.Select(p => p.Source), train.SourceText);
        Assert.Equal(corpus.KeptTrain.Select(p => p.Target), train.TargetText);
        for (var i = 0; i < train.Count; i++)
        {
            Assert.Equal(data.Tokenizer.Encode(train.SourceText[i]), train.Source[i]);
            Assert.Equal(train.TargetText[i], data.Tokenizer.Decode(train.Target[i]));
        }
        var valid = data.Split("valid");
        Assert.Equal(["the house.", "a red dog"], valid.SourceText);
        Assert.Equal(["la casa.", "un perro rojo"], valid.TargetText);
        Assert.Same(train, data.Split("train"));
    }

    [Fact]
    public void ManifestRecordsCountsAndSettings()
    {
        var manifest = PreparedData.Load(corpus.Directory).Manifest;
        Assert.Equal(JsonSerializer.Serialize(corpus.Result.Manifest, OnDiskJson.Options), JsonSerializer.Serialize(manifest, OnDiskJson.Options));
        var train = manifest.FindSplit("train")!;
        Assert.Equal((303, 300, 1, 1, 1), (train.Read, train.Kept, train.DroppedEmpty, train.DroppedRatio, train.DroppedTooLong));
        Assert.Equal((2, 2, false), (manifest.FindSplit("valid")!.Read, manifest.FindSplit("valid")!.Kept, manifest.FindSplit("valid")!.Filtered));
        Assert.Null(manifest.FindSplit("test"));
        Assert.Equal(("en", "es", TokenizerInfo.Bpe, 60), (manifest.SourceLanguage, manifest.TargetLanguage, manifest.Tokenizer.Kind, manifest.Tokenizer.Merges));
        Assert.Equal(new FilterOptions(40, 2.5), manifest.Filter);
    }

    [Fact]
    public void UnpreparedSplitIsAUsageError()
    {
        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(corpus.Directory).Split("test"));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains("prepared splits: train, valid", error.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var dir = corpus.Copy(_scratch);
        File.Delete(Path.Combine(dir, "valid.es"));
        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(dir));
        Assert.StartsWith($"{Path.Combine(dir, "valid.es")}: missing", error.Message);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public void MissingManifestOrDirectoryIsExplained()
    {
        Assert.Contains("not found", Assert.Throws<NatEmException>(() => PreparedData.Load(_scratch.File("nothing"))).Message);
        Assert.StartsWith($"{_scratch.File(DataManifest.FileName)}: missing",
            Assert.Throws<NatEmException>(() => PreparedData.Load(_scratch.Path)).Message);
    }

    [Fact]
    public void Format1ManifestWithCamelCaseNamesStillLoads()
    {
        var dir = corpus.Copy(_scratch);
        var manifestPath = Path.Combine(dir, DataManifest.FileName);
        Assert.Contains("\"format_version\": 2", File.ReadAllText(manifestPath));
        // What natem wrote until format 2: the same records under camelCase names.
        var format1 = JsonSerializer.SerializeToNode(corpus.Result.Manifest, new JsonSerializerOptions(OnDiskJson.Options) { PropertyNamingPolicy = JsonNamingPolicy.CamelCase })!;
        format1["formatVersion"] = 1;
        File.WriteAllText(manifestPath, format1.ToJsonString());
        Assert.Contains("\"sourceLanguage\"", File.ReadAllText(manifestPath));

        var loaded = PreparedData.Load(dir).Manifest;
        Assert.Equal(1, loaded.FormatVersion);
        Assert.Equal(JsonSerializer.Serialize(corpus.Result.Manifest with { FormatVersion = 1 }, OnDiskJson.Options), JsonSerializer.Serialize(loaded, OnDiskJson.Options));
    }

    [Fact]
    public void NewerFormatVersionIsRefused()
    {
        var dir = corpus.Copy(_scratch);
        var manifestPath = Path.Combine(dir, DataManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["format_version"] = DataManifest.CurrentFormatVersion + 1;
        File.WriteAllText(manifestPath, json.ToJsonString());
        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(dir));
        Assert.StartsWith($"{manifestPath}: format version {DataManifest.CurrentFormatVersion + 1} is newer than this natem supports", error.Message);
    }

    [Fact]
    public void CountMismatchNamesTheFile()
    {
        var dir = corpus.Copy(_scratch);
        var textPath = Path.Combine(dir, "train.en");
        File.WriteAllLines(textPath, File.ReadAllLines(textPath).Skip(1));
        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(dir).Split("train"));
        Assert.Equal($"{textPath}: has 299 sentences but manifest.json says 300; rerun natem prepare", error.Message);
    }

    [Fact]
    public void TruncatedIdFileIsDetected()
    {
        var dir = corpus.Copy(_scratch);
        var idsPath = Path.Combine(dir, PreparedData.TargetIdsFile("valid"));
        var bytes = File.ReadAllBytes(idsPath);
        File.WriteAllBytes(idsPath, bytes[..^4]);
        Assert.StartsWith($"{idsPath}: truncated or corrupt", Assert.Throws<NatEmException>(() => PreparedData.Load(dir).Split("valid")).Message);
    }

    [Fact]
    public void PreparedTextsUseTheGivenLanguageNames()
    {
        Assert.True(File.Exists(Path.Combine(corpus.Directory, "valid.en")));
        Assert.True(File.Exists(Path.Combine(corpus.Directory, "train.es")));
        Assert.True(File.Exists(Path.Combine(corpus.Directory, BpeSubwordTokenizer.MergesFileName)));
    }

    [Fact]
    public void InvalidOptionsAreUsageErrors()
    {
        PrepareOptions Options() => new() { OutputDirectory = _scratch.Path };
        foreach (var options in new[]
                 {
                     Options() with { Valid = new CorpusInput.Tsv("v.tsv") },
                     Options() with { SourceLanguage = "es" },
                     Options() with { TargetLanguage = "a/b" },
                     Options() with { Merges = -1 },
                 })
            Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(options.Validate).ExitCode);
    }
}
