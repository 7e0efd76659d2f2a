using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Text;
using FsCheck.Fluent;
using FsCheck;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Tests.Data;
using NatEm.Tests.Em;
using NatEm.Text;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Random bytes and random valid-looking TSV against the corpus reader and the scorers: every input must give
/// either a result or a one-line <see cref="NatEmException"/> naming the file, never another exception.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private const int Iterations = 300;
    private readonly TempDirectory _dir = new();

    // Pieces that stress the reader: separators, line ends, BOM, combining marks, controls, astral characters.
    private static readonly string[] Pieces =
        ["en", "es", "ref", "\t", "\t", "\n", "\n", "\r\n", "\r", " ", "  ", "hola", "año", "e\u0301", "\uFEFF", "\0", "\u0007",
         "\u00A0", "\u2028", "😀", "«»", "Génesis 1:1", "\"", "\\", "x"];

    public void Dispose() => _dir.Dispose();

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 400)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] RandomTsvLike(Random random)
    {
        var text = new StringBuilder(random.Next(3) == 0 ? "" : "ref\ten\tes\n");
        for (int i = random.Next(0, 60); i > 0; i--) text.Append(Pieces[random.Next(Pieces.Length)]);
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        // Sometimes corrupt one byte so that invalid UTF-8 appears inside otherwise plausible lines.
        if (bytes.Length > 0 && random.Next(4) == 0) bytes[random.Next(bytes.Length)] = (byte)random.Next(0x80, 0x100);
        return bytes;
    }

    // Pieces of well-formed text: no separators, line ends, BOM or control characters.
    private static readonly string[] TextPieces = ["hola", "año", "e\u0301", " ", "😀", "«»", "Génesis 1:1", "\"", "\\", "x", "\u00A0"];

    private static string ValidField(Random random) =>
        "w" + string.Concat(Enumerable.Range(0, random.Next(0, 6)).Select(_ => TextPieces[random.Next(TextPieces.Length)]));

    /// <summary>Well-formed lines (a TSV with <paramref name="columns"/> columns when given), which every reader must accept.</summary>
    private static (byte[] Bytes, int Rows) ValidLines(Random random, int columns = 1, string? header = null)
    {
        int rows = random.Next(1, 20);
        var text = new StringBuilder(header is null ? "" : header + "\n");
        for (int r = 0; r < rows; r++)
            text.Append(string.Join('\t', Enumerable.Range(0, columns).Select(_ => ValidField(random)))).Append(random.Next(3) == 0 ? "\r\n" : "\n");
        return (Encoding.UTF8.GetBytes(text.ToString()), rows);
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    private static void ResultOrClearError(string path, Action read)
    {
        try
        {
            read();
        }
        catch (NatEmException e)
        {
            Assert.StartsWith(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.NotEqual(ExitCodes.InternalError, e.ExitCode);
        }
    }

    [Fact]
    public void CorpusReaderGivesAResultOrAClearError()
    {
        var random = new Random(20261125);
        for (int i = 0; i < Iterations / 3; i++)
        {
            // Valid input still parses (a reader that rejected everything would pass the loop below), gzipped or not.
            var (valid, rows) = ValidLines(random, 3, "ref\ten\tes");
            var validPath = _dir.Write($"valid{i}.tsv{(i % 2 == 0 ? ".gz" : "")}", i % 2 == 0 ? Gzip(valid) : valid);
            var parsed = CorpusReader.ReadTsv(validPath, "en", "es");
            Assert.Equal(rows, parsed.Source.Length);
            Assert.Equal(rows, parsed.Target.Length);
            Assert.All(parsed.Source.Concat(parsed.Target), text => Assert.StartsWith("w", text));
        }
        for (int i = 0; i < Iterations; i++)
        {
            var bytes = i % 3 == 0 ? RandomBytes(random) : RandomTsvLike(random);
            bool gzip = i % 5 == 0;
            var path = _dir.Write(gzip ? $"fuzz{i}.tsv.gz" : $"fuzz{i}.tsv", gzip && i % 2 == 0 ? Gzip(bytes) : bytes);
            ResultOrClearError(path, () =>
            {
                var text = CorpusReader.ReadTsv(path, "en", "es");
                Assert.Equal(text.Source.Length, text.Target.Length);
            });
        }
    }

    [Fact]
    public void FilePairReaderGivesAResultOrAClearError()
    {
        var random = new Random(7);
        for (int i = 0; i < Iterations / 3; i++)
        {
            var (validSource, rows) = ValidLines(random);
            var validTarget = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, rows).Select(_ => ValidField(random) + "\n")));
            var parsed = CorpusReader.ReadFilePair(_dir.Write($"valid{i}.en", validSource), _dir.Write($"valid{i}.es", validTarget));
            Assert.Equal(rows, parsed.Source.Length);
            Assert.Equal(rows, parsed.Target.Length);
        }
        for (int i = 0; i < Iterations; i++)
        {
            var source = _dir.Write($"pair{i}.en", i % 2 == 0 ? RandomBytes(random) : RandomTsvLike(random));
            var target = _dir.Write($"pair{i}.es", RandomTsvLike(random));
            try
            {
                var text = CorpusReader.ReadFilePair(source, target);
                Assert.Equal(text.Source.Length, text.Target.Length);
            }
            catch (NatEmException e)
            {
                Assert.True(e.Message.StartsWith(source, StringComparison.Ordinal) || e.Message.StartsWith(target, StringComparison.Ordinal), e.Message);
                Assert.DoesNotContain('\n', e.Message);
            }
        }
    }

    [Fact]
    public void ScorersAcceptAnyTextAndStayInRange()
    {
        var random = new Random(99);
        string Sentence() => string.Concat(Enumerable.Range(0, random.Next(0, 12)).Select(_ => Pieces[random.Next(Pieces.Length)]));
        var bleu = new Bleu();
        var chrf = new Chrf();
        var chrfPlusPlus = new Chrf(new ChrfOptions { WordOrder = 2 });
        for (int i = 0; i < Iterations / 3; i++)
        {
            var count = random.Next(1, 6);
            var hypotheses = Enumerable.Range(0, count).Select(_ => Sentence()).ToList();
            var references = Enumerable.Range(0, count).Select(_ => Sentence()).ToList();
            foreach (var score in new[] { bleu.CorpusScore(hypotheses, references).Score, chrf.CorpusScore(hypotheses, references).Score,
                         chrfPlusPlus.CorpusScore(hypotheses, references).Score, bleu.SentenceScore(hypotheses[0], references[0]).Score })
                Assert.InRange(score, 0, 100);
        }
    }

    [Fact]
    public void EvaluationFilesGiveLinesOrAClearError()
    {
        var random = new Random(5);
        for (int i = 0; i < Iterations / 3; i++)
        {
            var (valid, rows) = ValidLines(random);
            Assert.Equal(rows, EvaluationFiles.ReadLines(_dir.Write($"valid{i}.txt", valid)).Count);
        }
        for (int i = 0; i < Iterations; i++)
        {
            var path = _dir.Write($"hyp{i}.txt", i % 2 == 0 ? RandomBytes(random) : RandomTsvLike(random));
            ResultOrClearError(path, () => EvaluationFiles.ReadLines(path));
        }
    }
}

/// <summary>A tiny prepared data directory, untrained AR and NAR models over it, and a valid corpus: the valid files that <see cref="MutatedFileFuzzTests"/> mutates.</summary>
public sealed class ValidUntrustedFiles : IDisposable
{
    public PreparedData Data { get; } = TinyPreparedData.Create(trainPairs: 40);
    public string Ar { get; }
    public string Nar { get; }
    /// <summary>The AR model with its weights in model.safetensors.</summary>
    public string ArSafetensors { get; }
    public string Corpus { get; }

    public ValidUntrustedFiles()
    {
        Ar = TinyPreparedData.SaveUntrainedModel(Data, ModelKind.Autoregressive, seed: 1, "ar");
        Nar = TinyPreparedData.SaveUntrainedModel(Data, ModelKind.NonAutoregressive, seed: 2, "nar");
        ArSafetensors = Path.Combine(SyntheticTask.TempDir(), "ar-safetensors");
        var ar = ModelStore.Load(Ar);
        ModelStore.Save(ArSafetensors, ar.Manifest with { WeightsFormat = WeightsFormat.Safetensors }, ar.Model, Ar);
        Corpus = Path.Combine(SyntheticTask.TempDir(), "corpus.tsv");
        File.WriteAllText(Corpus, "ref\ten\tes\nGen 1:1\tIn the beginning God created.\tEn el principio creó Dios.\nGen 1:2\tAnd the earth was void.\tY la tierra estaba desordenada.\n");
    }

    public void Dispose()
    {
        foreach (var dir in new[] { Path.GetDirectoryName(Data.Directory)!, Path.GetDirectoryName(Ar)!, Path.GetDirectoryName(Nar)!, Path.GetDirectoryName(ArSafetensors)!, Path.GetDirectoryName(Corpus)! })
            Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// Property-based fuzzing (FsCheck) of the readers of untrusted files: model.json, weights.bin and the tokenizer files of a
/// model directory, a prepared data directory's manifest.json, token-id and text files, and corpora. A valid file, randomly
/// mutated (bit flips, overwritten, inserted, deleted or duplicated bytes, truncation, JSON tokens such as null, -1 or
/// 2000000000 put in place of a value), must load cleanly or fail with a one-line <see cref="NatEmException"/> of exit
/// code 3, 4 or 5: never another exception, a hang or a write. The unmutated files must load, so that a reader that
/// rejects everything fails too. NATEM_FUZZ_CASES sets the cases per file (bench/fuzz.sh runs many).
/// </summary>
public sealed class MutatedFileFuzzTests(ValidUntrustedFiles files) : IClassFixture<ValidUntrustedFiles>
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("NATEM_FUZZ_CASES"), out var n) && n > 0 ? n : 20;
    /// <summary>Far beyond a tiny model's load (milliseconds); a reader stuck on a device or a huge size fails here.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(60);

    private static readonly string[] JsonTokens =
        ["null", "-1", "0", "2000000000", "1e309", "-0.5", "NaN", "\"\"", "\"x\"", "{", "}", "[", "]", "[]", "{}", ",", ":", "\"", "\\u0000", "\n", "true", "\"../../x\""];

    /// <summary>One edit of a file's bytes, at a relative position so that it fits any file.</summary>
    public sealed record Mutation(int Kind, double Where, int Length, byte[] Bytes, string Token)
    {
        public byte[] ApplyTo(byte[] original)
        {
            var bytes = original.ToList();
            int at = Math.Min(bytes.Count, (int)(Where * bytes.Count));
            int length = Math.Min(Length, bytes.Count - at);
            var token = Encoding.UTF8.GetBytes(Token);
            switch (Kind)
            {
                case 0 when at < bytes.Count: bytes[at] ^= (byte)(1 << (Length % 8)); break;
                case 1: for (int i = 0; i < Bytes.Length && at + i < bytes.Count; i++) bytes[at + i] = Bytes[i]; break;
                case 2: bytes.RemoveRange(at, bytes.Count - at); break;
                case 3: bytes.InsertRange(at, Bytes); break;
                case 4: bytes.RemoveRange(at, length); break;
                case 5: bytes.InsertRange(at, token); break;
                case 6:
                    // A JSON value replaced: the digits (or the literal) around the position become the token.
                    int start = at, end = at;
                    while (start > 0 && IsValueByte(bytes[start - 1])) start--;
                    while (end < bytes.Count && IsValueByte(bytes[end])) end++;
                    bytes.RemoveRange(start, end - start);
                    bytes.InsertRange(start, token);
                    break;
                case 7: bytes.InsertRange(Math.Min(bytes.Count, (at * 7 + 13) % (bytes.Count + 1)), bytes.GetRange(at, length)); break;
            }
            return [.. bytes];
        }

        private static bool IsValueByte(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'.' or (byte)'e' or (>= (byte)'a' and <= (byte)'z');

        public override string ToString() => $"kind {Kind} at {Where:F4} length {Length} bytes [{Convert.ToHexString(Bytes)}] token {Token}";
    }

    private static readonly Gen<Mutation> OneMutation =
        from kind in Gen.Choose(0, 7)
        from position in Gen.Choose(0, 1_000_000)
        from length in Gen.Choose(1, 64)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))
        from token in Gen.Elements(JsonTokens)
        select new Mutation(kind, position / 1_000_000.0, length, bytes, token);

    private static readonly Arbitrary<Mutation[]> Mutations =
        Gen.Choose(1, 3).SelectMany(count => Gen.ArrayOf(OneMutation, count)).ToArbitrary();

    /// <summary>A copy of <paramref name="sourceDir"/> in a fresh case directory (its parent is watched for writes too).</summary>
    private static (string CaseRoot, string Dir) Copy(string sourceDir)
    {
        var root = SyntheticTask.TempDir();
        var dir = Path.Combine(root, Path.GetFileName(sourceDir));
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(sourceDir)) File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return (root, dir);
    }

    private static Dictionary<string, (long, DateTime)> Snapshot(string root) =>
        Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).ToDictionary(p => p, p => (File.Exists(p) ? new FileInfo(p).Length : -1, File.GetLastWriteTimeUtc(p)));

    /// <summary>Runs <paramref name="read"/>: it loads, or fails with one clean line of exit 3, 4 or 5; within the hang limit; writing nothing under <paramref name="caseRoot"/>.</summary>
    private static void LoadsOrFailsCleanly(string caseRoot, Action read, bool mustLoad, string what)
    {
        var before = Snapshot(caseRoot);
        var task = Task.Run(read);
        Assert.True(((IAsyncResult)task).AsyncWaitHandle.WaitOne(HangLimit), $"{what}: no result within {HangLimit.TotalSeconds} s");
        if (task.Exception?.InnerException is { } error)
        {
            Assert.False(mustLoad, $"{what}: the unmutated file was refused: {error.Message}");
            var clean = Assert.IsAssignableFrom<NatEmException>(error);
            Assert.True(clean.ExitCode is ExitCodes.BadInput or ExitCodes.BadModel or ExitCodes.Environment, $"{what}: exit {clean.ExitCode}: {clean.Message}");
            Assert.DoesNotContain('\n', clean.Message);
        }
        Assert.Equal(before, Snapshot(caseRoot));
    }

    /// <summary>Mutates <paramref name="file"/> in copies of <paramref name="sourceDir"/> and reads each copy with <paramref name="read"/>.</summary>
    private static void Fuzz(string sourceDir, string file, Action<string> read, Action<string>? afterMutation = null)
    {
        var (validRoot, validDir) = Copy(sourceDir);
        LoadsOrFailsCleanly(validRoot, () => read(validDir), mustLoad: true, $"{file} unmutated");
        Directory.Delete(validRoot, recursive: true);
        var original = File.ReadAllBytes(Path.Combine(sourceDir, file));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true), Prop.ForAll(Mutations, mutations =>
        {
            var (root, dir) = Copy(sourceDir);
            try
            {
                var mutated = mutations.Aggregate(original, (bytes, m) => m.ApplyTo(bytes));
                File.WriteAllBytes(Path.Combine(dir, file), mutated);
                afterMutation?.Invoke(dir);
                LoadsOrFailsCleanly(root, () => read(dir), mustLoad: mutated.AsSpan().SequenceEqual(original) && afterMutation is null,
                    $"{file} after {string.Join("; ", mutations.Select(m => m.ToString()))}");
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }));
    }

    /// <summary>Rewrites weights_sha256 to match the mutated weights, so that the mutation reaches the weights parser rather than the checksum.</summary>
    private static void Reseal(string dir)
    {
        var manifest = Path.Combine(dir, ModelStore.ManifestFile);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        using var stream = File.OpenRead(ModelStore.WeightsPath(dir, ModelStore.ReadManifest(dir)));
        json["weights_sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        File.WriteAllText(manifest, json.ToJsonString());
    }

    [Theory]
    [InlineData("ar", ModelStore.ManifestFile, false)]
    [InlineData("nar", ModelStore.ManifestFile, false)]
    [InlineData("ar", ModelStore.WeightsFile, false)]
    [InlineData("ar", ModelStore.WeightsFile, true)]
    [InlineData("nar", ModelStore.WeightsFile, true)]
    [InlineData("ar-safetensors", ModelStore.SafetensorsFile, false)]
    [InlineData("ar-safetensors", ModelStore.SafetensorsFile, true)]
    [InlineData("ar", BpeSubwordTokenizer.VocabFileName, false)]
    [InlineData("ar", BpeSubwordTokenizer.MergesFileName, false)]
    public void MutatedModelDirectoriesLoadOrFailInOneLine(string model, string file, bool resealChecksum) =>
        Fuzz(model switch { "ar" => files.Ar, "nar" => files.Nar, _ => files.ArSafetensors }, file, dir => ModelStore.Load(dir), resealChecksum ? Reseal : null);

    [Theory]
    [InlineData(DataManifest.FileName)]
    [InlineData("train.src.bin")]
    [InlineData("train.en")]
    [InlineData(BpeSubwordTokenizer.VocabFileName)]
    public void MutatedPreparedDataLoadsOrFailsInOneLine(string file) =>
        Fuzz(files.Data.Directory, file, dir =>
        {
            var data = PreparedData.Load(dir);
            foreach (var split in data.Manifest.Splits) data.Split(split.Name);
        });

    [Fact]
    public void MutatedCorporaReadOrFailInOneLine() =>
        Fuzz(Path.GetDirectoryName(files.Corpus)!, Path.GetFileName(files.Corpus), dir => CorpusReader.ReadTsv(Path.Combine(dir, Path.GetFileName(files.Corpus)), "en", "es"));
}
