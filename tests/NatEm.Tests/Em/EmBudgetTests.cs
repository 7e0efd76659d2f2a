using NatEm.Em;

namespace NatEm.Tests.Em;

public sealed class EmBudgetTests
{
    private static readonly EmOptions OneRound = new() { Iterations = 1, DistillBeam = 4, NBest = 4 };

    public static TheoryData<EmStage, int> StagesOfOneRound => new()
    {
        { EmStage.InitialAr, 12 },                              // round 1: distill 4 + 4-best 4; final distill 4
        { new EmStage(EmRound.Em(1), EmStep.Nar), 8 },          // round 1's 4-best, then the final distillation
        { new EmStage(EmRound.Em(1), EmStep.Ar), 4 },           // only the final distillation
        { new EmStage(EmRound.Final, EmStep.Nar), 0 },
    };

    [Theory]
    [MemberData(nameof(StagesOfOneRound))]
    public void DecodingStillToComeAfterEachStageOfOneRound(EmStage stage, int beams) =>
        Assert.Equal(beams, new EmPlan(OneRound).DecodingBeamsAfter(stage));

    [Fact]
    public void LaterRoundsCountTheirDistillationAndNBestPasses() =>
        // Round 2 of 3 with N = 10: its own 10-best, round 3 (4 + 10), the final distillation (4).
        Assert.Equal(28, new EmPlan(new EmOptions { Iterations = 3, DistillBeam = 4, NBest = 10 }).DecodingBeamsAfter(new EmStage(EmRound.Em(2), EmStep.Nar)));

    [Fact]
    public void TrainingStagesShareWhatTheReservedDecodingLeaves()
    {
        // The measured run: 95 minutes, 33 used, 2.2 minutes per beam over 8 beams to come, 3 training stages left.
        Assert.Equal((95 - 33 - 17.6) / 3, EmBudget.TrainingStageMinutes(95, 33, 3, 17.6), 9);
        Assert.Equal(0.25, EmBudget.TrainingStageMinutes(95, 100, 2, 10));
        // The same figures from the plan: round 1's NAR stage of one round is followed by 8 beams and 2 more training stages.
        Assert.Equal((95 - 33 - 17.6) / 3, new EmPlan(OneRound).TrainingMinutes(new EmStage(EmRound.Em(1), EmStep.Nar), 95, 33, 2.2), 9);
    }

    [Fact]
    public void TheTrainingStagesLeftCountTheCurrentOneAndOnlyThoseThatRun()
    {
        var plan = new EmPlan(new EmOptions { Iterations = 2 });
        Assert.Equal(6, plan.TrainingStagesFrom(EmStage.InitialAr)); // ar0, 2 × (nar, ar), final nar
        Assert.Equal(3, plan.TrainingStagesFrom(new EmStage(EmRound.Em(2), EmStep.Nar)));
        Assert.Equal(1, plan.TrainingStagesFrom(new EmStage(EmRound.Final, EmStep.Nar)));
        // With --initial-ar there is no ar0 stage to count.
        var fromTrainedAr = new EmPlan(new EmOptions { Iterations = 2, InitialAr = "q0" });
        Assert.DoesNotContain(EmStage.InitialAr, fromTrainedAr.Stages);
        Assert.Equal(5, fromTrainedAr.TrainingStagesFrom(new EmStage(EmRound.Em(1), EmStep.Nar)));
        // With --initial-nar too, round 1 trains only its AR model.
        var fromKdBaseline = new EmPlan(new EmOptions { Iterations = 2, InitialAr = "q0", InitialNar = "p1" });
        Assert.DoesNotContain(new EmStage(EmRound.Em(1), EmStep.Nar), fromKdBaseline.Stages);
        Assert.Contains(new EmStage(EmRound.Em(2), EmStep.Nar), fromKdBaseline.Stages);
        Assert.Equal(4, fromKdBaseline.TrainingStagesFrom(new EmStage(EmRound.Em(1), EmStep.Distill)));
    }

    [Theory]
    [InlineData(null, 1, "--initial-nar needs --initial-ar")]
    [InlineData("q0", 0, "--initial-nar needs --iterations ≥ 1")]
    public void AGivenNarModelNeedsTheTeacherItWasDistilledFromAndARound(string? initialAr, int iterations, string problem)
    {
        var error = Assert.Throws<NatEmException>(() => new EmOptions { InitialAr = initialAr, InitialNar = "p1", Iterations = iterations }.Validate());
        Assert.Contains(problem, error.Message);
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void StagesNameTheirFoldersAndStateKeysAsRunDirectoriesHaveThem()
    {
        var plan = new EmPlan(new EmOptions { Iterations = 1 });
        Assert.Equal(["ar0", "round1/distill", "round1/nar", "round1/nbest", "round1/scores", "round1/ar", "final/distill", "final/nar"],
            plan.Stages.Select(s => s.Name));
        Assert.Equal(Path.Combine("RUN", "round1", "nbest"), new EmStage(EmRound.Em(1), EmStep.NBest).Directory("RUN"));
        Assert.Equal(Path.Combine("RUN", "ar0"), EmStage.InitialAr.Directory("RUN"));
        Assert.Equal(Path.Combine("RUN", "final", "nar"), new EmStage(EmRound.Final, EmStep.Nar).Directory("RUN"));
        Assert.Equal(["round0", "round7", "final"], new[] { EmRound.Initial, EmRound.Em(7), EmRound.Final }.Select(r => r.Name));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmRound.Em(0));
    }
}
