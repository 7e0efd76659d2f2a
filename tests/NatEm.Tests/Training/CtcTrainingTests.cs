using NatEm.Data;
using NatEm.Em;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Em;
using NatEm.Training;

namespace NatEm.Tests.Training;

/// <summary>A CTC student end to end: training with glancing, exact resume, the CLI, and EM.</summary>
public sealed class CtcTrainingTests
{
    [Fact]
    public void ATinyCtcModelWithGlancingLearnsAndResumesToTheSameWeights()
    {
        var pairs = SyntheticTask.Pairs(48, seed: 41);
        var config = SyntheticTask.TinyConfig with { Dropout = 0.1, AttentionDropout = 0.1, NarLoss = NarLoss.Ctc, DecoderInput = NarDecoderInput.UniformCopy };
        var options = new TrainingOptions { MaxTokens = 256, MaxUpdates = 16, ValidateEvery = 1000, LogEvery = 1, WarmupUpdates = 4, BestMetric = BestCheckpointMetric.Loss,
            Glancing = new GlancingSchedule(), LearningRate = 3e-3 };

        var straightDir = SyntheticTask.TempDir();
        var straight = new List<TrainingProgress>();
        new Trainer(TranslationModels.Create(ModelKind.NonAutoregressive, config, seed: 1), options, straightDir, pairs, null, SyntheticTask.NoTokenizer)
            .Run(false, new SynchronousProgress<TrainingProgress>(straight.Add));
        Assert.True(straight[^1].Loss < straight[0].Loss, $"CTC loss should fall: {straight[0].Loss} → {straight[^1].Loss}");

        var resumedDir = SyntheticTask.TempDir();
        using (var cancel = new CancellationTokenSource())
        {
            var first = new Trainer(TranslationModels.Create(ModelKind.NonAutoregressive, config, seed: 1), options, resumedDir, pairs, null, SyntheticTask.NoTokenizer);
            Assert.ThrowsAny<OperationCanceledException>(() => first.Run(false, new SynchronousProgress<TrainingProgress>(p => { if (p.Update == 7) cancel.Cancel(); }), cancel.Token));
        }
        new Trainer(TranslationModels.Create(ModelKind.NonAutoregressive, config, seed: 99), options, resumedDir, pairs, null, SyntheticTask.NoTokenizer).Run(true);

        Assert.Equal(File.ReadAllBytes(Path.Combine(straightDir, "checkpoint_last", ModelStore.WeightsFile)),
            File.ReadAllBytes(Path.Combine(resumedDir, "checkpoint_last", ModelStore.WeightsFile)));
        var saved = ModelStore.LoadModel(Path.Combine(straightDir, "checkpoint_last"));
        Assert.Equal((NarLoss.Ctc, 2), (saved.Config.NarLoss, saved.Config.Upsample));
    }

    [Fact]
    public void TrainNarWithCtcTrainsAndTranslatesThroughTheCli()
    {
        var data = TinyPreparedData.Create();
        var run = SyntheticTask.TempDir();
        var (code, _, error) = TinyModels.Run("train-nar", "--data", data.Directory, "--out", run, "--preset", "tiny", "--nar-loss", "ctc", "--upsample", "3",
            "--glancing", "--max-updates", "6", "--validate-every", "3", "--max-tokens", "1024", "--threads", "1");
        Assert.True(code == 0, error);
        var model = Path.Combine(run, "checkpoint_last");
        Assert.Equal((NarLoss.Ctc, 3), (ModelStore.ReadManifest(model).Config.NarLoss, ModelStore.ReadManifest(model).Config.Upsample));

        var input = Path.Combine(run, "input.txt");
        File.WriteAllText(input, "In the beginning God created the heavens.\nAnd the earth was empty.\n");
        foreach (var beam in new[] { "1", "3" })
        {
            var output = Path.Combine(run, $"output{beam}.txt");
            (code, _, error) = TinyModels.Run("translate", "--model", model, "--input", input, "--output", output, "--length-beam", beam, "--precision", "Fp32");
            Assert.True(code == 0, error);
            Assert.Equal(2, File.ReadAllLines(output).Length);
        }
        var candidates = Path.Combine(run, "candidates.txt");
        File.WriteAllText(candidates, "En el principio.\nY la tierra.\n");
        var sources = Path.Combine(run, "sources.txt");
        File.WriteAllText(sources, "In the beginning.\nAnd the earth.\n");
        (code, var scores, error) = TinyModels.Run("score-nar", "--model", model, "--src", sources, "--candidates", candidates);
        Assert.True(code == 0, error);
        Assert.All(scores.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.True(double.Parse(line.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture) < 0));
    }

    [Fact]
    public void ACtcModelWarmStartsFromALengthModelsWeightsLeavingItsLengthClassifierBehind()
    {
        var data = TinyPreparedData.Create();
        var lengthRun = SyntheticTask.TempDir();
        var (code, _, error) = TinyModels.Run("train-nar", "--data", data.Directory, "--out", lengthRun, "--preset", "tiny", "--decoder-input", "UniformCopy",
            "--max-updates", "2", "--max-tokens", "1024", "--threads", "1");
        Assert.True(code == 0, error);
        var lengthModel = Path.Combine(lengthRun, "checkpoint_last");

        var (_, trained) = ModelStore.LoadNar(lengthModel);
        var ctcConfig = new ArchitectureOptions { NarLoss = NarLoss.Ctc, Upsample = 3 }.ContinueFrom(trained.Config, ModelKind.NonAutoregressive);
        var warm = TranslationModels.Create(ModelKind.NonAutoregressive, ctcConfig, seed: 5);
        ModelStore.LoadWarmStart(lengthModel, warm);
        var trainedWeights = trained.state_dict();
        var warmWeights = warm.Module.state_dict();
        Assert.Equal((NarLoss.Ctc, 3, NarDecoderInput.UniformCopy), (ctcConfig.NarLoss, ctcConfig.Upsample, ctcConfig.DecoderInput));
        Assert.Contains(trainedWeights.Keys, name => name.Contains("length"));
        Assert.DoesNotContain(warmWeights.Keys, name => name.Contains("length"));
        Assert.All(warmWeights, w => Assert.True(w.Value.allclose(trainedWeights[w.Key], rtol: 0, atol: 0), $"{w.Key} differs from the length model's"));

        var ctcRun = SyntheticTask.TempDir();
        (code, _, error) = TinyModels.Run("train-nar", "--data", data.Directory, "--out", ctcRun, "--init-from", lengthModel, "--nar-loss", "ctc", "--upsample", "3",
            "--max-updates", "2", "--max-tokens", "1024", "--threads", "1");
        Assert.True(code == 0, error);
        var ctcModel = ModelStore.ReadManifest(Path.Combine(ctcRun, "checkpoint_last"));
        Assert.Equal((NarLoss.Ctc, 3), (ctcModel.Config.NarLoss, ctcModel.Config.Upsample));
        Assert.Equal(Path.GetFullPath(lengthModel), Path.GetFullPath(ctcModel.Training!["warm_start"]!.GetValue<string>()));
    }

    [Fact]
    public void AnUpsamplingRatioOutOfRangeIsAUsageError()
    {
        var data = TinyPreparedData.Create();
        var (code, _, error) = TinyModels.Run("train-nar", "--data", data.Directory, "--out", SyntheticTask.TempDir(), "--preset", "tiny", "--nar-loss", "ctc", "--upsample", "0", "--max-updates", "1");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--upsample", error);
    }

    [Fact]
    public void AnEmRunWithACtcStudentFinishesAndResumesToTheSameModel()
    {
        var quick = new TrainingOptions { MaxUpdates = 8, ValidateEvery = 1000, LogEvery = 4, MaxTokens = 1024, LearningRate = 3e-3, WarmupUpdates = 4, BestMetric = BestCheckpointMetric.Loss };
        var em = new EmOptions
        {
            Architecture = new() { Preset = "tiny", NarLoss = NarLoss.Ctc }, Iterations = 1, NBest = 3, DistillBeam = 2, ArTraining = quick,
            NarTraining = quick with { Glancing = new GlancingSchedule() },
        };
        var data = TinyPreparedData.Create();
        var uninterrupted = SyntheticTask.TempDir();
        var reference = new EmRun(data, em, uninterrupted, resume: false).Run();
        Assert.True(ModelStore.ReadManifest(reference.FinalModel).Config.NarLoss == NarLoss.Ctc);
        Assert.All(reference.Rounds.Skip(1), r => Assert.NotNull(r.NarValidBleuOdd));
        Assert.All(reference.Rounds[1].Selection, s => Assert.Equal(1.0, s.RankShares.Sum(), 9));

        var interrupted = SyntheticTask.TempDir();
        Assert.ThrowsAny<OperationCanceledException>(() => new EmRun(data, em, interrupted, resume: false, new StopAt("round1: NAR scores")).Run());
        var resumed = new EmRun(data, em, interrupted, resume: true).Run();
        Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, "round1", "selected.bin")), File.ReadAllBytes(Path.Combine(interrupted, "round1", "selected.bin")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference.FinalModel, ModelStore.WeightsFile)), File.ReadAllBytes(Path.Combine(resumed.FinalModel, ModelStore.WeightsFile)));
    }

    /// <summary>Stops a run when a stage whose title starts with <paramref name="stagePrefix"/> begins.</summary>
    private sealed class StopAt(string stagePrefix) : IEmObserver
    {
        public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) =>
            train(new SynchronousProgress<TrainingProgress>(_ => { }));

        public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) =>
            title.StartsWith(stagePrefix, StringComparison.Ordinal) ? throw new OperationCanceledException() : stage(new SynchronousProgress<(int, int)>(_ => { }));

        public void Message(string line) { }
    }
}
