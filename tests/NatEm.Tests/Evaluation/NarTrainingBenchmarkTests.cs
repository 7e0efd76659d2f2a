using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Evaluation;

public class NarTrainingBenchmarkTests
{
    [Fact]
    public void Times_plain_and_glancing_NAR_updates_beside_the_NAR_peer()
    {
        var pairs = SyntheticTask.Pairs(64, seed: 4);
        var options = new TrainingBenchmarkOptions
        {
            Preset = "tiny", Kind = ModelKind.NonAutoregressive, MaxTokens = 128, UntimedUpdates = 1, TimedUpdates = 2, Precisions = [Precision.Fp32],
        };

        var results = TrainingBenchmark.Run(pairs, SyntheticTask.VocabSize, options);

        Assert.Equal(["NatEm NAR tiny (fp32)", "NatEm NAR glancing tiny (fp32)", TrainingBenchmark.NarPeerName], results.Select(r => r.Name));
        Assert.All(results, r => Assert.True(r.MinTargetTokensPerSecond > 0 && r.MinTargetTokensPerSecond <= r.MedianTargetTokensPerSecond
            && r.MedianTargetTokensPerSecond <= r.MaxTargetTokensPerSecond, $"{r.Name}: {r}"));
    }

    [Fact]
    public void Padding_is_the_share_of_padded_positions_in_the_timed_batches()
    {
        // Equal lengths pad nothing; one long pair among short ones pads the rest of its batch.
        var equal = new ParallelExamples(Enumerable.Range(0, 8).Select(_ => new[] { 5, 6, 7 }).ToList(), Enumerable.Range(0, 8).Select(_ => new[] { 8, 9 }).ToList());
        var options = new TrainingBenchmarkOptions { Preset = "tiny", MaxTokens = 1024, UntimedUpdates = 0, TimedUpdates = 1 };
        Assert.Equal(new BatchPadding(0, 0), TrainingBenchmark.Padding(equal, options));

        var mixed = new ParallelExamples([[5, 6, 7], [5]], [[8, 9, 10, 11], [8]]);
        var padding = TrainingBenchmark.Padding(mixed, options);
        Assert.Equal(1 - (4 + 2) / 8.0, padding.Source, 9); // sources with eos: 4 and 2 of 2 × 4
        Assert.Equal(1 - (4 + 1) / 8.0, padding.Target, 9);
    }
}
