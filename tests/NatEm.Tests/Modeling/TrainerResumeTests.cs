using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Modeling;

public class TrainerResumeTests
{
    [Theory]
    [InlineData(ModelKind.Autoregressive, false, LearningRateSchedule.InverseSqrt)]
    [InlineData(ModelKind.NonAutoregressive, false, LearningRateSchedule.InverseSqrt)]
    [InlineData(ModelKind.NonAutoregressive, true, LearningRateSchedule.InverseSqrt)]
    [InlineData(ModelKind.NonAutoregressive, true, LearningRateSchedule.Cosine)]
    public void ResumedRunRepeatsTheUninterruptedRun(ModelKind kind, bool glancing, LearningRateSchedule schedule)
    {
        var pairs = SyntheticTask.Pairs(48, seed: 41);
        var config = SyntheticTask.TinyConfig with { Dropout = 0.1, AttentionDropout = 0.1 };
        var options = new TrainingOptions { MaxTokens = 256, MaxUpdates = 16, ValidateEvery = 1000, LogEvery = 1, WarmupUpdates = 4, BestMetric = BestCheckpointMetric.Loss,
            Glancing = glancing ? new GlancingSchedule() : null, Schedule = schedule, MinLearningRate = 1e-5 };

        var straightDir = SyntheticTask.TempDir();
        var straightLosses = new List<double>();
        new Trainer(TranslationModels.Create(kind, config, seed: 1), options, straightDir, pairs, null, SyntheticTask.NoTokenizer)
            .Run(false, new NatEm.Data.SynchronousProgress<TrainingProgress>(p => straightLosses.Add(p.Loss)));

        var resumedDir = SyntheticTask.TempDir();
        var resumedLosses = new List<double>();
        using (var cancel = new CancellationTokenSource())
        {
            var first = new Trainer(TranslationModels.Create(kind, config, seed: 1), options, resumedDir, pairs, null, SyntheticTask.NoTokenizer);
            Assert.ThrowsAny<OperationCanceledException>(() => first.Run(false, new NatEm.Data.SynchronousProgress<TrainingProgress>(p =>
            {
                resumedLosses.Add(p.Loss);
                if (p.Update == 7) cancel.Cancel();
            }), cancel.Token));
        }
        // A resumed process starts from unrelated weights; the checkpoint must replace them.
        new Trainer(TranslationModels.Create(kind, config, seed: 99), options, resumedDir, pairs, null, SyntheticTask.NoTokenizer)
            .Run(true, new NatEm.Data.SynchronousProgress<TrainingProgress>(p => resumedLosses.Add(p.Loss)));

        Assert.Equal(straightLosses.Count, resumedLosses.Count);
        for (int i = 0; i < straightLosses.Count; i++) Assert.Equal(straightLosses[i], resumedLosses[i], 5);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, "checkpoint_last", ModelStore.WeightsFile)),
            File.ReadAllBytes(Path.Combine(resumedDir, "checkpoint_last", ModelStore.WeightsFile)));
    }
}
