using NatEm.Data;

namespace NatEm.Tests.Data;

public sealed class TokenBatcherTests
{
    private static (int[] Source, int[] Target) RandomLengths(int count, int seed)
    {
        var random = new Random(seed);
        return (Enumerable.Range(0, count).Select(_ => random.Next(1, 60)).ToArray(),
                Enumerable.Range(0, count).Select(_ => random.Next(1, 60)).ToArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(7)]
    public void BatchesStayWithinBudgetAndCoverEveryExampleOnce(int? seed)
    {
        var (source, target) = RandomLengths(1000, 1);
        var batches = TokenBatcher.Batches(source, target, maxTokens: 300, seed);
        foreach (var batch in batches)
            Assert.True(batch.Max(i => Math.Max(source[i], target[i] + 1)) * batch.Length <= 300);
        Assert.Equal(Enumerable.Range(0, 1000), batches.SelectMany(b => b).Order());
        // Bucketing keeps padding low: the average batch is well filled.
        Assert.True(batches.Average(b => b.Length * b.Max(i => Math.Max(source[i], target[i] + 1))) > 250);
    }

    [Fact]
    public void SameSeedSameBatchesOtherSeedOtherOrder()
    {
        var (source, target) = RandomLengths(500, 2);
        var first = TokenBatcher.Batches(source, target, 200, shuffleSeed: 3);
        var again = TokenBatcher.Batches(source, target, 200, shuffleSeed: 3);
        var other = TokenBatcher.Batches(source, target, 200, shuffleSeed: 4);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void WithoutSeedBatchesAreInLengthOrder()
    {
        var (source, target) = RandomLengths(300, 5);
        var batches = TokenBatcher.Batches(source, target, 150, shuffleSeed: null);
        var padded = batches.Select(b => b.Max(i => Math.Max(source[i], target[i] + 1))).ToList();
        Assert.Equal(padded.Order(), padded);
    }

    [Fact]
    public void ExampleOverTheBudgetIsAUsageError()
    {
        var error = Assert.Throws<NatEmException>(() => TokenBatcher.Batches([3, 50], [3, 3], 40, null));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains("example 1 needs 50 tokens", error.Message);
    }
}
