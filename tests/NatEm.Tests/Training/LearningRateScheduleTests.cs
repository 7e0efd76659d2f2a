using NatEm.Training;

namespace NatEm.Tests.Training;

public class LearningRateScheduleTests
{
    private static readonly TrainingOptions Cosine = new()
    {
        LearningRate = 5e-4, MinLearningRate = 1e-5, WarmupUpdates = 500, MaxUpdates = 15000, Schedule = LearningRateSchedule.Cosine,
    };

    [Fact]
    public void WarmUpIsLinearToThePeakForEverySchedule()
    {
        foreach (var options in new[] { Cosine, Cosine with { Schedule = LearningRateSchedule.InverseSqrt } })
        {
            Assert.Equal(5e-4 / 500, options.LearningRateAt(0), 12);
            Assert.Equal(5e-4 * 250 / 500, options.LearningRateAt(249), 12);
            Assert.Equal(5e-4, options.LearningRateAt(499), 12);
        }
    }

    [Fact]
    public void CosineFallsFromThePeakToTheFloorAtTheLastUpdate()
    {
        // Update index u (0-based) after warm-up is at progress (u + 1 - warm-up) / (max - warm-up) of the half cosine.
        Assert.Equal(1e-5 + (5e-4 - 1e-5) * 0.5 * (1 + Math.Cos(Math.PI / 14500)), Cosine.LearningRateAt(500), 12);
        Assert.Equal(1e-5 + (5e-4 - 1e-5) * 0.5, Cosine.LearningRateAt(500 + 7250 - 1), 12);
        Assert.Equal(1e-5, Cosine.LearningRateAt(14999), 12);
        // A run extended beyond its plan stays at the floor.
        Assert.Equal(1e-5, Cosine.LearningRateAt(20000), 12);
        for (int u = 500; u < 15000; u++) Assert.True(Cosine.LearningRateAt(u) <= Cosine.LearningRateAt(u - 1));
    }

    [Fact]
    public void InverseSqrtKeepsItsValuesAndStopsAtTheFloor()
    {
        var plain = new TrainingOptions { LearningRate = 1e-3, WarmupUpdates = 500 };
        Assert.Equal(1e-3 * Math.Sqrt(500.0 / 2500), plain.LearningRateAt(2499), 12);
        Assert.Equal(1e-3 * Math.Sqrt(500.0 / 1e6), plain.LearningRateAt(999_999), 12);
        var floored = plain with { MinLearningRate = 1e-4 };
        Assert.Equal(plain.LearningRateAt(2499), floored.LearningRateAt(2499), 12);
        Assert.Equal(1e-4, floored.LearningRateAt(999_999), 12);
        Assert.Equal(1e-3, new TrainingOptions { LearningRate = 1e-3, WarmupUpdates = 0 }.LearningRateAt(123), 12);
    }

    [Theory]
    [InlineData(LearningRateSchedule.Cosine, null, 0.0, "--lr-schedule cosine needs --max-updates")]
    [InlineData(LearningRateSchedule.Cosine, 400, 0.0, "--lr-schedule cosine needs --max-updates")]
    [InlineData(LearningRateSchedule.InverseSqrt, 1000, 1e-3, "--min-lr must be in [0, --lr)")]
    [InlineData(LearningRateSchedule.InverseSqrt, 1000, -1e-5, "--min-lr must be in [0, --lr)")]
    [InlineData(LearningRateSchedule.InverseSqrt, 1000, double.NaN, "--min-lr must be in [0, --lr)")]
    public void InvalidSchedulesAreUsageErrors(LearningRateSchedule schedule, int? maxUpdates, double minLr, string message)
    {
        var options = new TrainingOptions
        {
            LearningRate = 1e-3, WarmupUpdates = 500, Schedule = schedule, MaxUpdates = maxUpdates, MaxEpochs = 3, MinLearningRate = minLr,
        };
        var error = Assert.Throws<NatEmException>(options.Validate);
        Assert.Contains(message, error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }
}
