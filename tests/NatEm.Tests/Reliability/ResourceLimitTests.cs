using NatEm.Data;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Pairs longer than --max-tokens on their own are skipped with a warning that counts them, as fairseq does; a
/// budget below every pair is a usage error naming --max-tokens.
/// </summary>
public sealed class ResourceLimitTests
{
    [Fact]
    public void BatcherLeavesOutOnlyTheOverBudgetExamples()
    {
        int[] sourceLengths = [3, 50, 4, 5, 41], targetLengths = [3, 3, 40, 4, 2];

        Assert.Equal([1, 2, 4], TokenBatcher.OverBudget(sourceLengths, targetLengths, maxTokens: 40));
        var batches = TokenBatcher.Batches(sourceLengths, targetLengths, maxTokens: 40, shuffleSeed: 7, skipOverBudget: true);
        Assert.Equal([0, 3], batches.SelectMany(b => b).Order());
    }

    [Fact]
    public void BudgetBelowEveryExampleIsAUsageErrorNamingTheOptionAndTheShortest()
    {
        var error = Assert.Throws<NatEmException>(() => TokenBatcher.Batches([12, 20], [15, 9], maxTokens: 10, shuffleSeed: null, skipOverBudget: true));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith("--max-tokens 10 is below every example: the shortest needs 16 tokens", error.Message);
    }

    [Fact]
    public void TrainerSkipsAnOverlongPairWithAWarningAndTrains()
    {
        var pairs = SyntheticTask.Pairs(12, seed: 4);
        var longSource = Enumerable.Repeat(5, 60).ToArray();
        var withLongPair = new ParallelExamples([.. pairs.Sources, longSource], [.. pairs.Targets, longSource]);
        var options = new TrainingOptions { MaxTokens = 40, MaxUpdates = 3, ValidateEvery = 1000, Seed = 1 };

        var trainer = new Trainer(new ArTransformer(SyntheticTask.TinyConfig), options, SyntheticTask.TempDir(), withLongPair, withLongPair, SyntheticTask.NoTokenizer);
        Assert.Equal("skipping 1 of 13 training pairs that alone exceed --max-tokens 40 (first: pair 13, 61 tokens)", trainer.SkippedExamplesWarning);
        var result = trainer.Run(resume: false);

        Assert.Equal(3, result.State.Update);
        Assert.Null(new Trainer(new ArTransformer(SyntheticTask.TinyConfig), options, SyntheticTask.TempDir(), pairs, null, SyntheticTask.NoTokenizer).SkippedExamplesWarning);
    }

    [Fact]
    public void TrainerWithABudgetBelowEveryPairIsAUsageError()
    {
        var pairs = SyntheticTask.Pairs(8, seed: 4, minLength: 16, maxLength: 16);
        var options = new TrainingOptions { MaxTokens = 16, MaxUpdates = 3 };

        var error = Assert.Throws<NatEmException>(() => new Trainer(new ArTransformer(SyntheticTask.TinyConfig), options, SyntheticTask.TempDir(), pairs, null, SyntheticTask.NoTokenizer));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith("--max-tokens 16 is below every example: the shortest needs 17 tokens", error.Message);
    }
}
