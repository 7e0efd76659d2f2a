using System.Globalization;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Text;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class ScoreNarCommandTests(TinyModels models)
{
    [Fact]
    public void ScoresEqualSequenceScoringOfEachSourceWithItsNCandidates()
    {
        string[] sources = ["red cat sees the dog", "a big fish"];
        string[] candidates = ["perro el ve gato rojo", "el perro", "pez grande un", "pez pez pez"];

        var (exitCode, output, error) = TinyModels.Run("score-nar", "--model", models.Nar, "--src", models.WriteLines(sources),
            "--candidates", models.WriteLines(candidates), "--nbest", "2");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var loaded = ModelStore.Load(models.Nar);
        int[] Encode(string line) => loaded.Tokenizer.Encode(TextNormalizer.Normalize(line));
        var expected = SequenceScoring.NarLogLikelihood((NarTransformer)loaded.Model,
            [.. new[] { sources[0], sources[0], sources[1], sources[1] }.Select(Encode)], [.. candidates.Select(Encode)]);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToArray();
        Assert.Equal(["0", "1", "2", "3"], rows.Select(r => r[0]));
        Assert.Equal(expected, rows.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)));
        Assert.All(expected, score => Assert.True(score < 0));
        Assert.True(expected.Distinct().Count() == 4, "different candidates should get different scores");
    }

    [Fact]
    public void PerTokenScoresAreTheTotalsDividedByTokensPlusOneAsEmsSelectionComparesThem()
    {
        var sources = models.WriteLines("red cat sees the dog");
        string[] candidates = ["perro el ve gato rojo", "el perro"];
        var candidatePath = models.WriteLines(candidates);
        double[] Scores(params string[] extra)
        {
            var (exitCode, output, error) = TinyModels.Run(["score-nar", "--model", models.Nar, "--src", sources, "--candidates", candidatePath, "--nbest", "2", .. extra]);
            Assert.True(exitCode == ExitCodes.Ok, error);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l.Split('\t')[1], CultureInfo.InvariantCulture)).ToArray();
        }

        var totals = Scores();
        var perToken = Scores("--selection-score", "PerToken");

        var tokenizer = ModelStore.Load(models.Nar).Tokenizer;
        var tokens = candidates.Select(c => tokenizer.Encode(TextNormalizer.Normalize(c)).Length).ToArray();
        Assert.Equal(totals, Scores("--selection-score", "Total"));
        Assert.Equal(totals.Select((total, i) => total / (tokens[i] + 1)), perToken);
    }

    [Fact]
    public void CandidateCountOtherThanNTimesSourcesIsAnErrorNamingBothFilesAndCounts()
    {
        var sources = models.WriteLines("red cat", "a dog");
        var candidates = models.WriteLines("gato rojo", "un perro", "perro");

        var (exitCode, output, error) = TinyModels.Run("score-nar", "--model", models.Nar, "--src", sources, "--candidates", candidates, "--nbest", "2");

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Equal("", output);
        Assert.Contains($"{candidates}: has 3 lines but {sources} has 2 lines and --nbest is 2, so 4", error);
    }

    [Theory]
    [InlineData("source")]
    [InlineData("candidate")]
    public void AnOverLongLineIsAnErrorNamingItsFileAndLine(string which)
    {
        var config = ModelStore.ReadManifest(models.Nar).Config;
        string tooLong = string.Join(' ', Enumerable.Repeat("cat", Math.Max(config.MaxPositions, config.MaxTargetLength) + 1));
        var sources = which == "source" ? models.WriteLines("red cat", tooLong) : models.WriteLines("red cat", "a dog");
        var candidates = which == "candidate" ? models.WriteLines("gato rojo", tooLong) : models.WriteLines("gato rojo", "un perro");

        var (exitCode, output, error) = TinyModels.Run("score-nar", "--model", models.Nar, "--src", sources, "--candidates", candidates);

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith($"natem: error: {(which == "source" ? sources : candidates)}:2: has ", error);
        Assert.Contains($"subword tokens; this model takes at most {(which == "source" ? config.MaxPositions - 2 : config.MaxTargetLength)}", error);
    }

    [Fact]
    public void AnArModelIsAModelMismatch()
    {
        var file = models.WriteLines("red cat");
        var (exitCode, _, error) = TinyModels.Run("score-nar", "--model", models.Ar, "--src", file, "--candidates", file);

        Assert.Equal(ExitCodes.BadModel, exitCode);
        Assert.Contains(models.Ar, error);
    }
}
