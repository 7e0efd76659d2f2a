using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Em;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Em;

public class EmRunTests
{
    private static readonly TrainingOptions QuickTraining = new()
    {
        MaxUpdates = 12, ValidateEvery = 1000, LogEvery = 4, MaxTokens = 1024, LearningRate = 3e-3, WarmupUpdates = 4, BestMetric = BestCheckpointMetric.Loss,
    };

    private static readonly EmOptions TinyEm = new()
    {
        Architecture = new() { Preset = "tiny" }, Iterations = 2, NBest = 3, DistillBeam = 2, ArTraining = QuickTraining, NarTraining = QuickTraining,
    };

    /// <summary>One uninterrupted tiny EM run that the resume tests compare against: its data, directory and report.</summary>
    private static readonly Lazy<(PreparedData Data, string Dir, EmReport Report)> Uninterrupted = new(() =>
    {
        var data = TinyPreparedData.Create();
        var dir = SyntheticTask.TempDir();
        return (data, dir, new EmRun(data, TinyEm, dir, resume: false).Run());
    });

    [Fact]
    public void SelectionPicksTheCandidateWithTheHighestNarScore()
    {
        float[] scores = [-5, -2, -9, /* source 1 */ -1, -1, -3, /* source 2 */ -7, -6, -0.5f];
        Assert.Equal([1, 0, 2], EmSelection.Choose(new CandidateLists<float>(scores, 3)));
    }

    [Fact]
    public void PerTokenSelectionRemovesTheTotalsBiasTowardShortCandidates()
    {
        // One source, two candidates: 2 tokens at -1.5 each (+ length -1) against 5 tokens at -0.7 each (+ length -1).
        var totals = new CandidateLists<float>([-4f, -4.5f], 2);
        var candidates = new CandidateLists<int[]>([[7, 8], [7, 8, 9, 10, 11]], 2);

        Assert.Equal([0], EmSelection.Choose(EmSelection.Comparable(totals, candidates, SelectionScore.Total)));
        Assert.Equal([1], EmSelection.Choose(EmSelection.Comparable(totals, candidates, SelectionScore.PerToken)));
        Assert.Equal(totals.Entries, EmSelection.Comparable(totals, candidates, SelectionScore.Total).Entries);
        Assert.Equal(-4f / 3, EmSelection.Comparable(totals, candidates, SelectionScore.PerToken)[0, 0], 6);
    }

    [Fact]
    public void SelectionStatisticsCompareBothCriteriaOnTheSameScores()
    {
        // Source 0: Total keeps the short first candidate, PerToken takes the long second one (as above).
        // Source 1: both criteria take the third candidate, as long as the first.
        var totals = new CandidateLists<float>([-4f, -4.5f, -9f, /* source 1 */ -6f, -8f, -2f], 3);
        var candidates = new CandidateLists<int[]>([[7, 8], [7, 8, 9, 10, 11], [7], /* source 1 */ [5, 6, 7], [5], [5, 6, 8]], 3);

        var (choice, statistics) = EmSelection.ChooseAndCompare(totals, candidates, SelectionScore.PerToken);

        Assert.Equal([1, 2], choice);
        var total = Assert.Single(statistics, s => s.Criterion == SelectionScore.Total);
        var perToken = Assert.Single(statistics, s => s.Criterion == SelectionScore.PerToken);
        Assert.False(total.Used);
        Assert.True(perToken.Used);
        Assert.Equal([0.5, 0, 0.5], total.RankShares);
        Assert.Equal([0, 0.5, 0.5], perToken.RankShares);
        Assert.Equal(0.5, total.NotFirst);
        Assert.Equal(1.0, perToken.NotFirst);
        Assert.Equal(1.0, total.TokensVsFirst, 9);
        Assert.Equal(8.0 / 5, perToken.TokensVsFirst, 9);
        Assert.Equal((0.0, 0.0), (total.ShorterThanFirst, total.LongerThanFirst));
        Assert.Equal((0.0, 0.5), (perToken.ShorterThanFirst, perToken.LongerThanFirst));
    }

    [Fact]
    public void TheReportTabulatesTheSelectionOfEachCriterion()
    {
        var round = new RoundReport
        {
            Round = "1",
            Selection = [new SelectionStatistics(SelectionScore.Total, true, [0.75, 0.25], 0.9, 0.2, 0.05), new SelectionStatistics(SelectionScore.PerToken, false, [0.5, 0.5], 1.1, 0.1, 0.3)],
        };

        var markdown = EmReportWriter.Markdown(new EmReport([round], "model", "teacher"));

        Assert.Contains("| 1 | Total | yes | 25.0 % | 75.0 % · 25.0 % | 0.900 | 20.0 % | 5.0 % |", markdown);
        Assert.Contains("| 1 | PerToken | no | 50.0 % | 50.0 % · 50.0 % | 1.100 | 10.0 % | 30.0 % |", markdown);
    }

    [Fact]
    public void TinyEmRunsEndToEndAndResumesToTheSameResultAfterInterruptions()
    {
        var (data, uninterrupted, reference) = Uninterrupted.Value;

        Assert.Equal(4, reference.Rounds.Count); // round 0, two EM rounds, final
        Assert.All(reference.Rounds.Skip(1), r => Assert.NotNull(r.NarValidBleuOdd));
        var finalModel = ModelStore.Load(reference.FinalModel, ModelKind.NonAutoregressive);
        Assert.IsType<NarTransformer>(finalModel.Model);
        Assert.Equal(TinyEm.Architecture.Resolve(ModelKind.NonAutoregressive, data.Tokenizer.VocabSize), finalModel.Model.Config);
        // The run returns its report; writing it is the caller's (`natem em` writes report.json, report.md and em.png).
        Assert.False(File.Exists(Path.Combine(uninterrupted, "report.md")) || File.Exists(Path.Combine(uninterrupted, "em.png")));
        AssertSelectedTargetsAreTheBestScoredCandidates(uninterrupted, "round1", data.Split("train").Count, TinyEm.NBest);
        // Each round reports what both criteria would select; the one used is the run's.
        Assert.All(reference.Rounds.Skip(1).SkipLast(1), r =>
        {
            Assert.Equal(Enum.GetValues<SelectionScore>(), r.Selection.Select(s => s.Criterion));
            Assert.Equal(TinyEm.SelectionScore, Assert.Single(r.Selection, s => s.Used).Criterion);
            Assert.All(r.Selection, s => Assert.Equal(1.0, s.RankShares.Sum(), 9));
        });
        // Every stage is set up by the TrainingJob; the E-step's AR model starts from the previous one (warm start).
        var eStep = ModelStore.ReadManifest(Path.Combine(uninterrupted, "round1", "ar", "checkpoint_last")).Training!;
        Assert.Equal("round1/ar", eStep["em_stage"]!.GetValue<string>());
        Assert.Equal(Path.Combine(uninterrupted, "ar0", "checkpoint_best"), eStep["warm_start"]!.GetValue<string>());

        // Interrupt once in the middle of a training stage and once at a stage boundary, then resume.
        var interrupted = SyntheticTask.TempDir();
        using (var cancel = new CancellationTokenSource())
        {
            var observer = new InterruptingObserver(cancel, trainingStage: "round1/nar", afterUpdate: 8);
            Assert.ThrowsAny<OperationCanceledException>(() => new EmRun(data, TinyEm, interrupted, resume: false, observer, cancel.Token).Run());
        }
        Assert.Equal(8, CheckpointDirectory.ReadState(Path.Combine(interrupted, "round1/nar/checkpoint_last")).Update);
        var boundary = new InterruptingObserver(null, stagePrefix: "round2: NAR scores");
        Assert.ThrowsAny<OperationCanceledException>(() => new EmRun(data, TinyEm, interrupted, resume: true, boundary).Run());
        Assert.Throws<NatEmException>(() => new EmRun(data, TinyEm, interrupted, resume: false));
        var resumed = new EmRun(data, TinyEm, interrupted, resume: true).Run();

        foreach (var round in new[] { "round1", "round2" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, round, "selected.bin")), File.ReadAllBytes(Path.Combine(interrupted, round, "selected.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference.FinalModel, ModelStore.WeightsFile)), File.ReadAllBytes(Path.Combine(resumed.FinalModel, ModelStore.WeightsFile)));
        Assert.Equal(reference.Rounds.Select(r => r.NarValidBleuOdd), resumed.Rounds.Select(r => r.NarValidBleuOdd));

        // Round 1 from trained models (--initial-ar q₀, --initial-nar p₁, e.g. the KD baseline): no p₁ is trained,
        // and the selection is the one the full run made with the same two models.
        var fromGiven = SyntheticTask.TempDir();
        // q₁ keeps q₀'s (tiny) architecture with the run's --dropout; the final NAR model, trained afresh, takes the preset.
        var given = TinyEm with
        {
            Iterations = 1, InitialAr = Path.Combine(uninterrupted, "ar0", "checkpoint_best"), InitialNar = Path.Combine(uninterrupted, "round1", "nar", "checkpoint_best"),
            Architecture = TinyEm.Architecture with { Preset = "small", Dropout = 0.2 },
        };
        var givenReport = new EmRun(data, given, fromGiven, resume: false).Run();
        Assert.False(Directory.Exists(Path.Combine(fromGiven, "round1", "nar")));
        var q0 = ModelStore.Load(given.InitialAr).Model.Config;
        Assert.Equal(q0 with { Dropout = 0.2, AttentionDropout = 0.2 }, ModelStore.Load(Path.Combine(fromGiven, "round1", "ar", "checkpoint_best")).Model.Config);
        Assert.Equal(given.Architecture.Resolve(ModelKind.NonAutoregressive, data.Tokenizer.VocabSize), ModelStore.Load(givenReport.FinalModel).Model.Config);
        Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, "round1", "selected.bin")), File.ReadAllBytes(Path.Combine(fromGiven, "round1", "selected.bin")));
        Assert.Equal(reference.Rounds[1].NarValidBleuOdd, givenReport.Rounds[1].NarValidBleuOdd);
    }

    [Fact]
    public void TinyEmResumedAtEveryStageBoundaryEndsWithTheSameWeightsAndTheStateKeepsItsFormat()
    {
        var (data, uninterrupted, reference) = Uninterrupted.Value;
        var plan = new EmPlan(TinyEm);
        // em_state.json names the stages as every earlier run saved them: a run from before resumes.
        var saved = ReadState(uninterrupted);
        Assert.Equal(["ar0", "round1/nar", "round1/ar", "round2/nar", "round2/ar", "final/nar"], Names(saved["finished"]));
        Assert.Equal(["round1/distill", "round1/nbest", "round1/scores", "round2/distill", "round2/nbest", "round2/scores", "final/distill"], Names(saved["decoding_passes"]));
        Assert.Equal(["round0", "round1", "round2", "final"], saved["reports"]!.AsObject().Select(p => p.Key));

        // Stop before each stage of the plan in turn: every run resumes the last one's directory and does one stage.
        var interrupted = SyntheticTask.TempDir();
        for (int i = 0; i < plan.Stages.Count; i++)
        {
            var next = plan.Stages[i];
            Assert.Throws<StoppedAtStage>(() => new EmRun(data, TinyEm, interrupted, resume: i > 0, new StoppingObserver(next)).Run());
            var state = ReadState(interrupted);
            Assert.Equal(plan.Stages.Take(i).Select(s => s.Name).Order(), Names(state["finished"]).Concat(Names(state["decoding_passes"])).Order());
        }
        var resumed = new EmRun(data, TinyEm, interrupted, resume: true).Run();

        foreach (var stage in plan.Stages.Where(s => s.Trains is not null))
            foreach (var checkpoint in new[] { "checkpoint_best", "checkpoint_last" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(stage.Directory(uninterrupted), checkpoint, ModelStore.WeightsFile)),
                    File.ReadAllBytes(Path.Combine(stage.Directory(interrupted), checkpoint, ModelStore.WeightsFile)));
        foreach (var round in new[] { "round1", "round2" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, round, "selected.bin")), File.ReadAllBytes(Path.Combine(interrupted, round, "selected.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference.FinalModel, ModelStore.WeightsFile)), File.ReadAllBytes(Path.Combine(resumed.FinalModel, ModelStore.WeightsFile)));
        Assert.Equal(reference.Rounds.Select(r => (r.ArValidBleu, r.NarValidBleuOdd, r.SelectedLogLikelihood)), resumed.Rounds.Select(r => (r.ArValidBleu, r.NarValidBleuOdd, r.SelectedLogLikelihood)));
    }

    private static JsonNode ReadState(string runDir) => JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "em_state.json")))!;

    private static string[] Names(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    private sealed class StoppedAtStage(EmStage stage) : Exception($"stopped before {stage}");

    /// <summary>Stops a run when the given stage starts, by the title it shows (a training stage's is its name).</summary>
    private sealed class StoppingObserver(EmStage stage) : IEmObserver
    {
        private bool Starts(string title) => stage.Step switch
        {
            EmStep.Ar or EmStep.Nar => title == stage.Name,
            EmStep.Distill => title.StartsWith($"{stage.Name} (", StringComparison.Ordinal),
            EmStep.NBest => title.StartsWith($"{stage.Round}: {TinyEm.NBest}-best", StringComparison.Ordinal),
            EmStep.Scores => title.StartsWith($"{stage.Round}: NAR scores", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(title)),
        };

        public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) =>
            Starts(title) ? throw new StoppedAtStage(stage) : train(new SynchronousProgress<TrainingProgress>(_ => { }));

        public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> run) =>
            Starts(title) ? throw new StoppedAtStage(stage) : run(new SynchronousProgress<(int, int)>(_ => { }));

        public void Message(string line) { }
    }

    private static void AssertSelectedTargetsAreTheBestScoredCandidates(string runDir, string round, int sources, int n)
    {
        var candidates = Directory.GetFiles(Path.Combine(runDir, round, "nbest"), "part_*.bin").Order().SelectMany(p => ChunkCodec<int[]>.TokenIds.Read(p)).ToArray();
        var scores = Directory.GetFiles(Path.Combine(runDir, round, "scores"), "part_*.bin").Order().SelectMany(p => ChunkCodec<float>.Floats.Read(p)).ToArray();
        var selected = TokenIdFile.Read(Path.Combine(runDir, round, "selected.bin"), int.MaxValue);
        Assert.Equal(sources * n, candidates.Length);
        Assert.Equal(sources * n, scores.Length);
        for (int i = 0; i < sources; i++)
        {
            var best = Enumerable.Range(0, n).MaxBy(c => scores[i * n + c]);
            Assert.Equal(scores[i * n + best], scores[i * n + Array.FindIndex(Enumerable.Range(0, n).ToArray(), c => candidates[i * n + c].SequenceEqual(selected[i]))]);
        }
    }

    /// <summary>Cancels a run inside one training stage after a given update, or throws when a named stage starts.</summary>
    private sealed class InterruptingObserver(CancellationTokenSource? cancel, string? trainingStage = null, int afterUpdate = 0, string? stagePrefix = null) : IEmObserver
    {
        public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) =>
            train(new SynchronousProgress<TrainingProgress>(p =>
            {
                if (title == trainingStage && p.Update >= afterUpdate) cancel?.Cancel();
            }));

        public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) =>
            stagePrefix is not null && title.StartsWith(stagePrefix, StringComparison.Ordinal) ? throw new OperationCanceledException() : stage(new SynchronousProgress<(int, int)>(_ => { }));

        public void Message(string line) { }
    }
}
