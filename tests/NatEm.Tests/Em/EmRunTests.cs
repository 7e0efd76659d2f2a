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
    public void TinyEmRunsEndToEndAndResumesToTheSameResultAfterInterruptions()
    {
        var data = TinyPreparedData.Create();
        var uninterrupted = SyntheticTask.TempDir();
        var reference = new EmRun(data, TinyEm, uninterrupted, resume: false).Run();

        Assert.Equal(4, reference.Rounds.Count); // round 0, two EM rounds, final
        Assert.All(reference.Rounds.Skip(1), r => Assert.NotNull(r.NarValidBleuOdd));
        var finalModel = ModelStore.Load(reference.FinalModel, ModelKind.NonAutoregressive);
        Assert.IsType<NarTransformer>(finalModel.Model);
        Assert.Equal(TinyEm.Architecture.Resolve(ModelKind.NonAutoregressive, data.Tokenizer.VocabSize), finalModel.Model.Config);
        // The run returns its report; writing it is the caller's (`natem em` writes report.json, report.md and em.png).
        Assert.False(File.Exists(Path.Combine(uninterrupted, "report.md")) || File.Exists(Path.Combine(uninterrupted, "em.png")));
        AssertSelectedTargetsAreTheBestScoredCandidates(uninterrupted, "round1", data.Split("train").Count, TinyEm.NBest);
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
