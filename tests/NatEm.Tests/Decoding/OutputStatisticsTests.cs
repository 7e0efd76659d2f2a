using NatEm.Decoding;

namespace NatEm.Tests.Decoding;

public class OutputStatisticsTests
{
    [Fact]
    public void RepetitionRatePoolsAdjacentPairsOverAllOutputs()
    {
        // Pairs: 2 + 0 + 0 + 3 + 2 = 7; repeats: (1,1) and (4,4) twice.
        int[][] outputs = [[1, 1, 2], [3], [], [1, 2, 1, 2], [4, 4, 4]];

        Assert.Equal(3.0 / 7, OutputStatistics.RepetitionRate(outputs), 12);
    }

    [Fact]
    public void RepetitionRateIsZeroWithoutPairsOrRepeats()
    {
        Assert.Equal(0, OutputStatistics.RepetitionRate([]));
        Assert.Equal(0, OutputStatistics.RepetitionRate([[5], []]));
        Assert.Equal(0, OutputStatistics.RepetitionRate([[1, 2, 1, 2]]));
        Assert.Equal(1, OutputStatistics.RepetitionRate([[7, 7], [8, 8, 8]]));
    }

    [Fact]
    public void LengthAccuracyCountsExactMatches()
    {
        Assert.Equal(0.5, OutputStatistics.LengthAccuracy([3, 4, 5, 6], [3, 5, 5, 0]));
        Assert.Equal(1, OutputStatistics.LengthAccuracy([2], [2]));
        Assert.Equal(0, OutputStatistics.LengthAccuracy([], []));
        Assert.Throws<ArgumentException>(() => OutputStatistics.LengthAccuracy([1, 2], [1]));
    }
}
