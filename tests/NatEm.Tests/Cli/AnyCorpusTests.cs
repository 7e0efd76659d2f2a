using NatEm.Data;
using NatEm.Tests.Data;

namespace NatEm.Tests.Cli;

/// <summary>
/// Nothing is specific to the bundled English–Spanish pair: a made-up German–French corpus in one pair of files,
/// with no valid or test files, goes through prepare (which holds out valid and test), train-ar, train-nar and translate.
/// </summary>
public sealed class AnyCorpusTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly (string De, string Fr)[] Subjects = [("der Hund", "le chien"), ("die Katze", "le chat"), ("der Vogel", "l'oiseau"), ("das Kind", "l'enfant"), ("die Frau", "la femme")];
    private static readonly (string De, string Fr)[] Verbs = [("sieht", "voit"), ("hört", "entend"), ("mag", "aime"), ("sucht", "cherche")];
    private static readonly (string De, string Fr)[] Objects = [("den Ball", "le ballon"), ("das Haus", "la maison"), ("den Baum", "l'arbre"), ("die Blume", "la fleur"), ("das Brot", "le pain")];

    /// <summary>Deterministic sentence pairs: subject, verb, object, and sometimes "heute" / "aujourd'hui".</summary>
    private static (string[] De, string[] Fr) Corpus(int count)
    {
        var random = new Random(3);
        var pairs = Enumerable.Range(0, count).Select(_ =>
        {
            var (s, v, o) = (Subjects[random.Next(Subjects.Length)], Verbs[random.Next(Verbs.Length)], Objects[random.Next(Objects.Length)]);
            bool today = random.Next(3) == 0;
            return ($"{s.De} {v.De} {o.De}{(today ? " heute" : "")} .", $"{s.Fr} {v.Fr} {o.Fr}{(today ? " aujourd'hui" : "")} .");
        }).ToArray();
        return (pairs.Select(p => p.Item1).ToArray(), pairs.Select(p => p.Item2).ToArray());
    }

    [Fact]
    public void AGermanFrenchFilePairGoesThroughPrepareTrainAndTranslate()
    {
        var (de, fr) = Corpus(400);
        var source = _dir.Write("corpus.de", string.Join("\n", de) + "\n");
        var target = _dir.Write("corpus.fr", string.Join("\n", fr) + "\n");
        var data = _dir.File("prepared");

        var (exitCode, output, error) = TinyModels.Run("prepare", "--train-src", source, "--train-tgt", target, "--src", "de", "--tgt", "fr",
            "--merges", "60", "--valid-size", "30", "--out", data);

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Contains("Splits: valid held out at random (--valid-size 30), test held out at random (--test-size default: 5%, at most 1,000).", output);
        var prepared = PreparedData.Load(data);
        Assert.Equal(["train", "valid", "test"], prepared.Manifest.Splits.Select(s => s.Name));
        Assert.Equal([350, 30, 20], prepared.Manifest.Splits.Select(s => s.Read));
        var heldOut = prepared.Split("valid").SourceText.Concat(prepared.Split("test").SourceText).ToList();
        Assert.Equal(50, heldOut.Count);
        Assert.All(heldOut, sentence => Assert.Contains(sentence, de));
        Assert.Equal(prepared.Split("train").SourceText.Length + 50, de.Length);

        foreach (var kind in new[] { "train-ar", "train-nar" })
        {
            var run = _dir.File(kind);
            (exitCode, _, error) = TinyModels.Run(kind, "--data", data, "--out", run, "--preset", "tiny", "--max-updates", "20", "--validate-every", "10",
                "--max-tokens", "512", "--threads", "1");
            Assert.True(exitCode == ExitCodes.Ok, error);

            var input = _dir.File($"{kind}.de");
            File.WriteAllLines(input, prepared.Split("test").SourceText);
            (exitCode, output, error) = TinyModels.Run("translate", "--model", run, "--input", input);
            Assert.True(exitCode == ExitCodes.Ok, error);
            Assert.Equal(20, output.Split('\n')[..^1].Length);
        }
    }

    [Fact]
    public void TheSameSeedHoldsOutTheSamePairsAndAnotherSeedOthers()
    {
        var (de, fr) = Corpus(200);
        var source = _dir.Write("c.de", string.Join("\n", de) + "\n");
        var target = _dir.Write("c.fr", string.Join("\n", fr) + "\n");
        string[] Held(string seed, string name)
        {
            var data = _dir.File(name);
            var (exitCode, _, error) = TinyModels.Run("prepare", "--train-src", source, "--train-tgt", target, "--src", "de", "--tgt", "fr",
                "--merges", "20", "--split-seed", seed, "--out", data);
            Assert.True(exitCode == ExitCodes.Ok, error);
            return PreparedData.Load(data).Split("valid").SourceText;
        }

        Assert.Equal(Held("1", "a"), Held("1", "b"));
        Assert.NotEqual(Held("1", "c"), Held("2", "d"));
    }

    [Fact]
    public void TheBundledBibleGivenAsCorpusSaysItsBookSplitIsNotUsed()
    {
        // Recognized by its name, so a few of its lines under that name suffice (gzip is detected by content).
        var copy = _dir.Write(BibleCorpus.FileName, "ref\ten\tes\nGenesis 1:1\tIn the beginning\tEn el principio\nGenesis 1:2\tThe earth\tLa tierra\n");

        var (exitCode, output, error) = TinyModels.Run("prepare", "--corpus", copy, "--merges", "5", "--valid-size", "0", "--test-size", "0", "--out", _dir.File("p"));

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Contains("This is the bundled Bible, but given as --corpus its book split is not used; omit --corpus to use it.", output);
    }
}
