using NatEm.Evaluation;
using NatEm.Modeling;

namespace NatEm.Tests.Evaluation;

public class TrainingBenchmarkTests
{
    [Fact]
    public void Times_each_precision_and_the_libtorch_peer_on_the_same_batches()
    {
        var pairs = SyntheticTask.Pairs(64, seed: 4);
        var options = new TrainingBenchmarkOptions { Preset = "tiny", MaxTokens = 128, UntimedUpdates = 1, TimedUpdates = 2, Precisions = [Precision.Fp32, Precision.Bf16] };

        var results = TrainingBenchmark.Run(pairs, SyntheticTask.VocabSize, options);

        Assert.Equal(["NatEm AR tiny (fp32)", "NatEm AR tiny (bf16)", TrainingBenchmark.PeerName], results.Select(r => r.Name));
        Assert.All(results, r => Assert.True(r.MinTargetTokensPerSecond > 0 && r.MinTargetTokensPerSecond <= r.MedianTargetTokensPerSecond
            && r.MedianTargetTokensPerSecond <= r.MaxTargetTokensPerSecond, $"{r.Name}: {r}"));
        // The same batches: every trainer's timed updates saw the same target tokens (the sources vary in length, so another batch order would not).
        Assert.True(results[0].TimedTargetTokens > 0);
        Assert.All(results, r => Assert.Equal(results[0].TimedTargetTokens, r.TimedTargetTokens));
                Assert.Throws<NatEmException>(() => TrainingBenchmark.Run(pairs, SyntheticTask.VocabSize, options with { Preset = "huge" }));
    }
}
