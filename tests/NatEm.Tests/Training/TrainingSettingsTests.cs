using NatEm.Data;
using NatEm.Modeling;
using NatEm.Training;
using TorchSharp;

namespace NatEm.Tests.Training;

/// <summary>
/// Each training setting changes what the trainer does, as documented, on a tiny AR model (no dropout). Several tests
/// look at one update's weight change Δw: Adam's first step is lr·g/(|g| + ε) per weight, so with ε = 1 and small
/// gradients it is lr·g to within 1 %, which makes the (clipped, accumulated, decayed) gradient visible.
/// </summary>
public sealed class TrainingSettingsTests : IDisposable
{
    private readonly string directory = SyntheticTask.TempDir();

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private static readonly ParallelExamples Pairs = SyntheticTask.Pairs(8, seed: 3, minLength: 5, maxLength: 5);

    private static readonly TrainingOptions OneUpdate = new()
    {
        MaxTokens = 256, MaxUpdates = 1, ValidateEvery = 0, LogEvery = 1, WarmupUpdates = 0, LearningRate = 0.1, AdamEpsilon = 1.0,
        ClipNorm = 0, LabelSmoothing = 0, BestMetric = BestCheckpointMetric.Loss, Precision = Precision.Fp32, Threads = 1,
    };

    private static ITranslationModel NewModel() => TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 5);

    private static float[] Flat(ITranslationModel model) =>
        model.Module.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray()).ToArray();

    private string NewRun() => Path.Combine(directory, Guid.NewGuid().ToString("N"));

    /// <summary>Trains with <paramref name="options"/>; returns the weights before and after, the run, its state and its progress.</summary>
    private (float[] Before, float[] After, string Run, TrainerState State, List<TrainingProgress> Progress) Train(TrainingOptions options,
        ParallelExamples? valid = null, Func<ITranslationModel, double>? validationBleu = null, ParallelExamples? train = null)
    {
        var model = NewModel();
        var before = Flat(model);
        var run = NewRun();
        var progress = new List<TrainingProgress>();
        var result = new Trainer(model, options, run, train ?? Pairs, valid, SyntheticTask.NoTokenizer, validationBleu)
            .Run(false, new SynchronousProgress<TrainingProgress>(progress.Add));
        return (before, Flat(ModelStore.LoadModel(Path.Combine(run, "checkpoint_last"))), run, result.State, progress);
    }

    private static double Norm(float[] a, float[] b) => Math.Sqrt(a.Zip(b, (x, y) => (double)(x - y) * (x - y)).Sum());

    private static double Norm(float[] a) => Math.Sqrt(a.Sum(x => (double)x * x));

    [Fact]
    public void Clip_norm_bounds_the_gradient_norm_of_an_update()
    {
        const double clip = 0.01;
        var unclipped = Train(OneUpdate);
        var clipped = Train(OneUpdate with { ClipNorm = clip });

        // The reported norm is the one before clipping, the same in both runs, and far above the threshold.
        double gradientNorm = unclipped.Progress[0].GradientNorm;
        Assert.Equal(gradientNorm, clipped.Progress[0].GradientNorm, 4);
        Assert.True(gradientNorm > 10 * clip, $"gradient norm {gradientNorm}");
        // Δw/lr is the gradient the optimizer got: the clipped one has norm `clip` (≤ 1 % below, from ε), the other far more.
        double applied = Norm(clipped.Before, clipped.After) / OneUpdate.LearningRate;
        Assert.InRange(applied, 0.98 * clip, 1.0001 * clip);
        Assert.True(Norm(unclipped.Before, unclipped.After) / OneUpdate.LearningRate > 5 * clip);
    }

    [Fact]
    public void Gradient_accumulation_over_two_batches_equals_one_batch_of_both()
    {
        // 8 pairs of equal length: 2 batches of 4 accumulated (--update-freq 2) against 1 batch of 8, in one update each.
        var accumulated = Train(OneUpdate with { MaxTokens = 4 * 6, UpdateFrequency = 2 });
        var large = Train(OneUpdate with { MaxTokens = 8 * 6 });
        var single = Train(OneUpdate with { MaxTokens = 4 * 6 });

        Assert.Equal(1, accumulated.State.Update);
        double difference = Norm(accumulated.After, large.After), step = Norm(large.Before, large.After);
        Assert.True(difference < 1e-3 * step, $"accumulated and large-batch updates differ by {difference} (the update is {step})");
        // Not an update on one batch only: that one differs.
        Assert.True(Norm(single.After, large.After) > 0.05 * step);
    }

    [Fact]
    public void Weight_decay_shrinks_the_weights()
    {
        var plain = Train(OneUpdate with { AdamEpsilon = 1e-8, LearningRate = 1e-3 });
        var decayed = Train(OneUpdate with { AdamEpsilon = 1e-8, LearningRate = 1e-3, WeightDecay = 100 });

        // With a decay that dominates the gradient, Adam's first step moves every weight by lr toward zero.
        Assert.True(Norm(decayed.After) < Norm(decayed.Before) - 0.3e-3 * Math.Sqrt(decayed.Before.Length),
            $"‖w‖ went from {Norm(decayed.Before)} to {Norm(decayed.After)}");
        Assert.True(Norm(decayed.After) < Norm(plain.After));
        int shrunk = decayed.Before.Zip(decayed.After).Count(p => Math.Abs(p.Second) < Math.Abs(p.First));
        Assert.True(shrunk > 0.95 * decayed.Before.Count(w => Math.Abs(w) > 2e-3), $"{shrunk} of {decayed.Before.Length} weights shrank");
    }

    [Fact]
    public void The_inverse_sqrt_schedule_warms_up_linearly_then_decays_and_the_optimizer_uses_it()
    {
        var options = new TrainingOptions { LearningRate = 1e-3, WarmupUpdates = 1000 };
        // Updates are counted from 0: update u uses lr·(u+1)/warmup during warm-up, then lr·√(warmup/(u+1)).
        foreach (var (update, expected) in new[] { (0, 1e-6), (499, 5e-4), (999, 1e-3), (1999, 1e-3 * Math.Sqrt(0.5)), (3999, 5e-4), (99_999, 1e-4) })
            Assert.Equal(expected, options.LearningRateAt(update), 12);
        Assert.Equal(1e-3, (options with { WarmupUpdates = 0 }).LearningRateAt(5000));

        // The first update of a run with 4 warm-up updates is taken at a quarter of the peak rate.
        var full = Train(OneUpdate);
        var warming = Train(OneUpdate with { WarmupUpdates = 4 });
        Assert.Equal(0.25, Norm(warming.Before, warming.After) / Norm(full.Before, full.After), 3);
        Assert.Equal(OneUpdate.LearningRate / 4, warming.Progress[0].LearningRate, 12);
    }

    /// <summary>A validation BLEU that plays back the given values, one per validation.</summary>
    private static Func<ITranslationModel, double> Scripted(params double[] values)
    {
        int next = 0;
        return _ => values[Math.Min(next++, values.Length - 1)];
    }

    [Fact]
    public void Patience_stops_after_that_many_validations_without_improvement()
    {
        var options = OneUpdate with { MaxUpdates = 50, ValidateEvery = 1, Patience = 2, BestMetric = BestCheckpointMetric.Bleu };

        // Improves at validations 1 and 2, then not at 3 and 4: the run stops at update 4.
        var run = Train(options, Pairs, Scripted(5, 6, 6, 5.5, 9));

        Assert.Equal(4, run.State.Update);
        Assert.StartsWith("patience (2", run.State.StopReason);
        Assert.Equal(2, run.State.ValidationsWithoutImprovement);
    }

    [Fact]
    public void Max_minutes_stops_a_run_once_its_time_is_up()
    {
        // 0.05 s: the run stops after the update that reaches it, long before the epoch limit (300 one-batch epochs).
        var run = Train(OneUpdate with { MaxUpdates = null, MaxEpochs = 300, MaxMinutes = 0.05 / 60, ValidateEvery = 0 });

        Assert.StartsWith("max minutes", run.State.StopReason);
        Assert.True(run.State.ElapsedSeconds >= 0.05, $"stopped after {run.State.ElapsedSeconds} s");
        Assert.True(run.State.Epoch < 300);
    }

    [Fact]
    public void Keep_last_prunes_old_checkpoints_but_keeps_the_best_and_the_best_link_points_to_the_best_validation()
    {
        var options = OneUpdate with { MaxUpdates = 6, ValidateEvery = 1, KeepLast = 2, BestMetric = BestCheckpointMetric.Bleu, LearningRate = 1e-3 };

        // Validation BLEU per update 1..6: the best is update 2.
        var run = Train(options, Pairs, Scripted(3, 7, 5, 6, 4, 6.5));

        var names = new CheckpointDirectory(run.Run).Numbered().Select(Path.GetFileName);
        Assert.Equal(["update_0000002", "update_0000005", "update_0000006"], names);
        var best = Path.Combine(run.Run, "checkpoint_best");
        Assert.Equal(Path.Combine("checkpoints", "update_0000002"), new DirectoryInfo(best).LinkTarget);
        Assert.Equal(2, CheckpointDirectory.ReadState(best).Update);
        Assert.Equal(7, run.State.BestScore);
        Assert.Equal("update_0000002", run.State.BestCheckpoint);
        // Its weights are update 2's, not the last ones.
        Assert.NotEqual(run.After, Flat(ModelStore.LoadModel(best)));
    }
}
