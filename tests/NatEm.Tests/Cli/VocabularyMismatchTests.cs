using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Em;

namespace NatEm.Tests.Cli;

/// <summary>
/// A model combined with data or with another model of another vocabulary (or of the wrong kind) is refused before any
/// work, by every command that combines them, with one exit code: BadModel (README, "Errors and recovery").
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class VocabularyMismatchTests(TinyModels models) : IDisposable
{
    /// <summary>Data with more merges, so a larger vocabulary than the tiny models': its AR model's ids overflow theirs.</summary>
    private readonly PreparedData otherData = TinyPreparedData.Create(trainPairs: 60, merges: 45);
    private string OtherAr => otherAr ??= TinyPreparedData.SaveUntrainedModel(otherData, ModelKind.Autoregressive, seed: 4, "other-ar");
    private string? otherAr;

    public void Dispose()
    {
        Directory.Delete(Path.GetDirectoryName(otherData.Directory)!, recursive: true);
        if (otherAr is not null) Directory.Delete(Path.GetDirectoryName(otherAr)!, recursive: true);
    }

    private static void AssertMismatch((int ExitCode, string Output, string Error) run, string expected)
    {
        Assert.True(run.ExitCode == ExitCodes.BadModel, $"exit {run.ExitCode}: {run.Error}");
        Assert.Contains(expected, run.Error);
        Assert.Single(run.Error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void DistillingFromATeacherOfAnotherVocabularyIsRefusedBeforeDistilling()
    {
        Assert.NotEqual(models.Data.Tokenizer.VocabSize, otherData.Tokenizer.VocabSize);
        var run = models.NewPath("run");

        AssertMismatch(TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", run, "--distill-from", OtherAr, "--preset", "tiny", "--max-updates", "2"),
            "token ids are only comparable under one vocabulary");
        Assert.False(Directory.Exists(Path.Combine(run, "distill")), "the distillation started");
    }

    [Fact]
    public void EveryCommandGivesTheSameExitCodeForAVocabularyMismatch()
    {
        var text = models.WriteLines("red cat");
        const string Vocabulary = "token ids are only comparable under one vocabulary";
        AssertMismatch(TinyModels.Run("eval", "--model", OtherAr, "--data", models.Data.Directory, "--limit", "2"), Vocabulary);
        AssertMismatch(TinyModels.Run("translate", "--model", models.Nar, "--input", text, "--length-beam", "2", "--rescore", OtherAr), Vocabulary);
        AssertMismatch(TinyModels.Run("bench", "--ar", OtherAr, "--nar", models.Nar, "--data", models.Data.Directory, "--limit", "2", "--out", models.NewPath("bench")), Vocabulary);
        AssertMismatch(TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("run"), "--init-from", OtherAr, "--max-updates", "1"), Vocabulary);
        AssertMismatch(TinyModels.Run("em", "--data", models.Data.Directory, "--out", models.NewPath("em"), "--initial-ar", OtherAr, "--preset", "tiny"), Vocabulary);
    }

    [Fact]
    public void EveryCommandGivesTheSameExitCodeForAModelOfTheWrongKind()
    {
        var text = models.WriteLines("red cat");
        const string Kind = "but the command needs";
        AssertMismatch(TinyModels.Run("score-nar", "--model", models.Ar, "--src", text, "--candidates", text), Kind);
        AssertMismatch(TinyModels.Run("translate", "--model", models.Nar, "--input", text, "--length-beam", "2", "--rescore", models.Nar), Kind);
        AssertMismatch(TinyModels.Run("bench", "--ar", models.Nar, "--nar", models.Nar, "--data", models.Data.Directory, "--limit", "2", "--out", models.NewPath("bench")), Kind);
        AssertMismatch(TinyModels.Run("train-nar", "--data", models.Data.Directory, "--out", models.NewPath("run"), "--distill-from", models.Nar, "--preset", "tiny", "--max-updates", "1"), Kind);
    }
}
