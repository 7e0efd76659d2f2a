using NatEm.Em;

namespace NatEm.Tests.Em;

public sealed class EmBudgetTests
{
    [Theory]
    [InlineData("ar0", 12)]        // round 1: distill 4 + 4-best 4; final distill 4
    [InlineData("round1/nar", 8)]  // round 1's 4-best, then the final distillation
    [InlineData("round1/ar", 4)]   // only the final distillation
    [InlineData("final/nar", 0)]
    public void DecodingStillToComeAfterEachStageOfOneRound(string stage, int beams) =>
        Assert.Equal(beams, EmBudget.DecodingBeamsAfter(stage, new EmOptions { Iterations = 1, DistillBeam = 4, NBest = 4 }));

    [Fact]
    public void LaterRoundsCountTheirDistillationAndNBestPasses() =>
        // Round 2 of 3 with N = 10: its own 10-best, round 3 (4 + 10), the final distillation (4).
        Assert.Equal(28, EmBudget.DecodingBeamsAfter("round2/nar", new EmOptions { Iterations = 3, DistillBeam = 4, NBest = 10 }));

    [Fact]
    public void TrainingStagesShareWhatTheReservedDecodingLeaves()
    {
        // The measured run: 95 minutes, 33 used, 2.2 minutes per beam over 8 beams to come, 3 training stages left.
        Assert.Equal((95 - 33 - 17.6) / 3, EmBudget.TrainingStageMinutes(95, 33, 3, 17.6), 9);
        Assert.Equal(0.25, EmBudget.TrainingStageMinutes(95, 100, 2, 10));
    }
}
