using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Em;
using NatEm.Training;

namespace NatEm.Tests.Training;

/// <summary>--continue-from: a run restarted from a milestone (a model directory with its training.update and options).</summary>
public sealed class ContinuedRunTests
{
    private const int Milestone = 6, End = 16;

    private static readonly PreparedData Data = TinyPreparedData.Create(trainPairs: 40);
    // Dropout, so that a wrong update index would also draw other dropout masks.
    private static readonly TransformerConfig Tiny = TransformerConfig.Preset("tiny", Data.Tokenizer.VocabSize) with { Dropout = 0.1, AttentionDropout = 0.1 };

    // Several batches per epoch, two per update, the cosine schedule and an annealed glancing ratio: every update sees another
    // batch pair, rate and ratio. The milestone sits inside an epoch (checked below).
    private static readonly TrainingOptions Options = new()
    {
        MaxTokens = 64, UpdateFrequency = 2, MaxUpdates = End, WarmupUpdates = 3, Schedule = LearningRateSchedule.Cosine, MinLearningRate = 1e-5,
        Glancing = new GlancingSchedule { Start = 0.5, End = 0.1 }, ValidateEvery = 3, KeepLast = 10, LogEvery = 1, BestMetric = BestCheckpointMetric.Loss,
    };

    private static TrainingJob Job(InitialModel initial, TrainingOptions options, string runDir) =>
        new(initial, options, runDir, Data, ParallelExamples.Of(Data.Split("train")), ParallelExamples.Of(Data.Split("valid")),
            new JsonObject { ["test"] = "continue" }, validationBleu: null);

    /// <summary>The run's training log entries (no validations), by update.</summary>
    private static Dictionary<int, JsonNode> UpdateEntries(string runDir) =>
        File.ReadAllLines(Path.Combine(runDir, CheckpointDirectory.LogFile)).Select(l => JsonNode.Parse(l)!)
            .Where(e => e["loss"] is not null && e["valid_loss"] is null).ToDictionary(e => e["update"]!.GetValue<int>());

    /// <summary>An uninterrupted run of <paramref name="options"/> to <see cref="End"/>, and the milestone exported from its checkpoint at <see cref="Milestone"/>.</summary>
    private static (string Run, string Milestone) Uninterrupted(TrainingOptions options)
    {
        var run = SyntheticTask.TempDir();
        Job(new InitialModel(ModelKind.NonAutoregressive, Tiny), options, run).Run(resume: false);
        var checkpoint = Path.Combine(run, "checkpoints", $"update_{Milestone:D7}");
        var milestone = Path.Combine(SyntheticTask.TempDir(), "milestone");
        var (exitCode, _, error) = TinyModels.Run("export", "--model", checkpoint, "--out", milestone);
        Assert.True(exitCode == ExitCodes.Ok, error);
        var epochs = UpdateEntries(run).ToDictionary(e => e.Key, e => e.Value["epoch"]!.GetValue<int>());
        Assert.True(epochs[Milestone] == epochs[Milestone + 1] && epochs[End] > epochs[Milestone + 1], "the milestone should sit inside an epoch, and the run cross one's end after it");
        return (run, milestone);
    }

    [Fact]
    public void Only_the_options_that_leave_the_computation_alone_may_differ_from_the_milestones()
    {
        var recorded = Options with { Glancing = Options.Glancing! with { AnnealUpdates = End }, Precision = Precision.Bf16 };

        var environment = recorded with
        {
            Threads = 1, Precision = Precision.Fp32, ValidateEvery = 7, LogEvery = 9, KeepLast = 1, Patience = 2, MaxMinutes = 5, BestMetric = BestCheckpointMetric.Bleu,
        };
        Assert.Null(environment.FirstTrajectoryDifference(recorded));
        Assert.Equal(("glancing", """{"start":0.5,"end":0.1,"anneal_updates":16}""", """{"start":0.5,"end":0.1,"anneal_updates":17}"""),
            (environment with { Glancing = recorded.Glancing with { AnnealUpdates = End + 1 } }).FirstTrajectoryDifference(recorded));
        Assert.Equal(("update_frequency", "2", "1"), (environment with { UpdateFrequency = 1, Seed = 2 }).FirstTrajectoryDifference(recorded));
        Assert.Equal(("seed", "1", "2"), (environment with { Seed = 2 }).FirstTrajectoryDifference(recorded));
        Assert.Equal(("max_epochs", "null", "3"), (environment with { MaxEpochs = 3 }).FirstTrajectoryDifference(recorded));
    }

    [Fact]
    public void A_continued_run_sees_the_batches_rates_and_ratios_of_the_uninterrupted_run_and_records_where_it_continued()
    {
        // A learning rate of 1e-12 leaves the weights as they were (Adam moves each by about the rate): both runs compute
        // with the same weights, so equal losses at an update mean the same batches, glancing ratio and dropout seed there.
        var frozen = Options with { LearningRate = 1e-12, MinLearningRate = 1e-13 };
        var (straight, milestone) = Uninterrupted(frozen);

        var continued = SyntheticTask.TempDir();
        var result = Job(InitialModel.Continue(milestone, ModelKind.NonAutoregressive, Data, new ArchitectureOptions()),
            frozen with { ValidateEvery = 5, LogEvery = 1, Threads = 1 }, continued).Run(resume: false);

        var expected = UpdateEntries(straight);
        var actual = UpdateEntries(continued);
        Assert.Equal(Enumerable.Range(Milestone + 1, End - Milestone), actual.Keys.Order());
        foreach (var (update, entry) in actual)
        {
            foreach (var field in new[] { "epoch", "learning_rate", "target_tokens" })
                Assert.True(JsonNode.DeepEquals(expected[update][field], entry[field]), $"update {update}: {field} {entry[field]} instead of {expected[update][field]}");
            Assert.Equal(expected[update]["loss"]!.GetValue<double>(), entry["loss"]!.GetValue<double>(), 5);
            Assert.Equal(expected[update]["revealed_fraction"]!.GetValue<double>(), entry["revealed_fraction"]!.GetValue<double>(), 9);
        }
        var straightState = CheckpointDirectory.ReadState(Path.Combine(straight, "checkpoint_last"));
        Assert.Equal((straightState.Update, straightState.Epoch, straightState.BatchInEpoch), (result.State.Update, result.State.Epoch, result.State.BatchInEpoch));

        // The log says where the run continued, in its first line; every checkpoint (and so every export) says it in model.json.
        var first = JsonNode.Parse(File.ReadLines(Path.Combine(continued, CheckpointDirectory.LogFile)).First())!;
        Assert.Equal((milestone, Milestone), (first["continued_from"]!.GetValue<string>(), first["optimizer_reset_at"]!.GetValue<int>()));
        foreach (var checkpoint in new CheckpointDirectory(continued).Numbered())
        {
            var training = ModelStore.ReadManifest(checkpoint).Training!;
            Assert.Equal(milestone, training["continued_from"]!.GetValue<string>());
            Assert.Equal(Milestone, training["optimizer_reset_at"]!.GetValue<int>());
        }
        Assert.Null(ModelStore.ReadManifest(Path.Combine(straight, "checkpoint_last")).Training!["continued_from"]);
    }

    [Fact]
    public void Resuming_a_continued_run_repeats_the_uninterrupted_continuation()
    {
        var (_, milestone) = Uninterrupted(Options);
        var initial = InitialModel.Continue(milestone, ModelKind.NonAutoregressive, Data, new ArchitectureOptions());

        var straight = SyntheticTask.TempDir();
        var straightLosses = new List<double>();
        Job(initial, Options, straight).Run(false, new SynchronousProgress<TrainingProgress>(p => straightLosses.Add(p.Loss)));

        var resumed = SyntheticTask.TempDir();
        var resumedLosses = new List<double>();
        using (var cancel = new CancellationTokenSource())
        {
            Assert.ThrowsAny<OperationCanceledException>(() => Job(initial, Options, resumed).Run(false, new SynchronousProgress<TrainingProgress>(p =>
            {
                resumedLosses.Add(p.Loss);
                if (p.Update == Milestone + 2) cancel.Cancel();
            }), cancel.Token));
        }
        // As `--resume` alone runs it: the model's architecture, no milestone; the run's own checkpoint holds the rest.
        Job(new InitialModel(ModelKind.NonAutoregressive, Tiny), Options, resumed)
            .Run(true, new SynchronousProgress<TrainingProgress>(p => resumedLosses.Add(p.Loss)));

        Assert.Equal(straightLosses.Count, resumedLosses.Count);
        for (int i = 0; i < straightLosses.Count; i++) Assert.Equal(straightLosses[i], resumedLosses[i], 5);
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "checkpoint_last", ModelStore.WeightsFile)),
            File.ReadAllBytes(Path.Combine(resumed, "checkpoint_last", ModelStore.WeightsFile)));
        var training = ModelStore.ReadManifest(Path.Combine(resumed, "checkpoint_last")).Training!;
        Assert.Equal((milestone, Milestone), (training["continued_from"]!.GetValue<string>(), training["optimizer_reset_at"]!.GetValue<int>()));
    }
}
