using System.Text.Json.Nodes;
using NatEm.Em;
using NatEm.Modeling;
using NatEm.Tests.Em;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Tests.Modeling;

public class MixedPrecisionTests
{
    [Fact]
    public void DefaultPrecisionIsBf16ExactlyWhereTheCpuHasIt()
    {
        var flags = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(' ') ?? []
            : [];
        bool native = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64
            && (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16"));
        Assert.Equal(native, Precisions.HasNativeBf16);
        Assert.Equal(native ? Precision.Bf16 : Precision.Fp32, new TrainingOptions().Precision);
        Assert.Equal(native, Precisions.SlownessWarning(Precision.Bf16) is null);
        Assert.Null(Precisions.SlownessWarning(Precision.Fp32));
    }

    [Theory]
    [InlineData(ModelKind.Autoregressive)]
    [InlineData(ModelKind.NonAutoregressive)]
    public void Bf16ForwardIsCloseToFp32ButNotEqual(ModelKind kind)
    {
        var model = TranslationModels.Create(kind, SyntheticTask.TinyConfig, seed: 5);
        model.Module.eval();
        using var _ = torch.no_grad();
        var pairs = SyntheticTask.Pairs(8, seed: 6);
        var source = SequenceTensors.Source(pairs.Sources);
        Tensor Forward()
        {
            if (model is ArTransformer ar) return ar.Forward(source, SequenceTensors.Pad(pairs.Targets, prependBos: true)).log_softmax(-1);
            var (tokens, lengths) = ((NarTransformer)model).Forward(source, SequenceTensors.Lengths(pairs.Targets));
            return cat([tokens.log_softmax(-1).flatten(), lengths.log_softmax(-1).flatten()]);
        }

        var fp32 = Forward();
        model.Precision = Precision.Bf16;
        var bf16 = Forward();

        Assert.Equal(ScalarType.Float32, bf16.dtype);
        double difference = (bf16 - fp32).abs().max().item<float>();
        Assert.True(difference > 0, "bf16 gave bit-identical results: nothing was computed in bf16");
        Assert.True(difference < 0.1, $"bf16 log-probabilities differ from fp32 by up to {difference}");
        Assert.All(model.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void A_bf16_run_resumes_in_fp32_and_an_old_checkpoint_without_precision_resumes_as_an_uninterrupted_run_would()
    {
        var pairs = SyntheticTask.Pairs(48, seed: 41);
        var dir = SyntheticTask.TempDir();
        TrainingOptions Options(Precision precision, int updates) => new()
        {
            MaxTokens = 256, MaxUpdates = updates, ValidateEvery = 4, LogEvery = 1, WarmupUpdates = 4, LearningRate = 3e-3,
            BestMetric = BestCheckpointMetric.Loss, Precision = precision,
        };
        Trainer Trainer(string runDir, Precision precision, int updates) =>
            new(TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 1), Options(precision, updates), runDir, pairs, null, SyntheticTask.NoTokenizer);
        var resumed = new List<TrainingProgress>();
        var progress = new NatEm.Data.SynchronousProgress<TrainingProgress>(p => { if (p.ValidLoss is null) resumed.Add(p); });

        Trainer(dir, Precision.Bf16, 8).Run(false, progress);
        Assert.Equal("Bf16", SavedPrecision(dir));
        Trainer(dir, Precision.Fp32, 16).Run(true, progress);
        Assert.Equal("Fp32", SavedPrecision(dir));

        // A checkpoint written before the option existed has no precision in its options.
        var manifestPath = Path.Combine(dir, "checkpoint_last", ModelStore.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["training"]!["options"]!.AsObject().Remove("precision");
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var result = Trainer(dir, Precision.Bf16, 24).Run(true, progress);

        // The same run without interruptions, in fp32 throughout: the same updates, epochs, batches and learning rates,
        // and losses equal up to bf16 rounding (a resume that lost the optimizer state or the batch order would drift).
        var uninterrupted = new List<TrainingProgress>();
        var reference = Trainer(SyntheticTask.TempDir(), Precision.Fp32, 24).Run(false, new NatEm.Data.SynchronousProgress<TrainingProgress>(p => { if (p.ValidLoss is null) uninterrupted.Add(p); }));
        Assert.Equal(reference.State with { ElapsedSeconds = 0 }, result.State with { ElapsedSeconds = 0 });
        Assert.Equal(uninterrupted.Select(p => (p.Update, p.Epoch, p.LearningRate)), resumed.Select(p => (p.Update, p.Epoch, p.LearningRate)));
        var worst = resumed.Zip(uninterrupted, (r, u) => Math.Abs(r.Loss - u.Loss) / u.Loss).Max();
        Assert.True(worst < 0.02, $"the resumed run's loss differs from the uninterrupted run's by up to {worst:P2}");
        Assert.True(resumed[^1].Loss < resumed[0].Loss * 0.8, $"loss went from {resumed[0].Loss:F3} to {resumed[^1].Loss:F3}");
        var saved = ModelStore.LoadModel(Path.Combine(dir, "checkpoint_last"));
        Assert.All(saved.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void An_EM_run_resumes_with_the_other_precision_or_threads_and_older_saved_options_as_an_uninterrupted_run_would_but_not_with_other_options()
    {
        var data = TinyPreparedData.Create(trainPairs: 20);
        var training = new TrainingOptions { MaxUpdates = 2, ValidateEvery = 1000, LearningRate = 3e-3, WarmupUpdates = 1, BestMetric = BestCheckpointMetric.Loss, Precision = Precision.Fp32 };
        var options = new EmOptions { Architecture = new() { Preset = "tiny" }, Iterations = 1, NBest = 2, DistillBeam = 2, ArTraining = training, NarTraining = training };
        var reference = new EmRun(data, options, SyntheticTask.TempDir(), resume: false).Run();

        var dir = SyntheticTask.TempDir();
        Assert.ThrowsAny<OperationCanceledException>(() => new EmRun(data, options, dir, resume: false, new StopWhenStageStarts("round1: ")).Run());
        // As an EM run started before the option existed: its saved options have no precision.
        var statePath = Path.Combine(dir, "em_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        var savedOptions = JsonNode.Parse(state["options"]!.GetValue<string>())!;
        foreach (var stage in new[] { "ar_training", "nar_training" }) savedOptions[stage]!.AsObject().Remove("precision");
        savedOptions["selection_score"] = (int)options.SelectionScore;   // and its selection criterion was written as a number
        state["options"] = savedOptions.ToJsonString();
        File.WriteAllText(statePath, state.ToJsonString());

        var twoThreads = training with { Threads = training.ResolvedThreads == 2 ? 1 : 2 };
        Assert.ThrowsAny<OperationCanceledException>(() => new EmRun(data, options with { ArTraining = twoThreads, NarTraining = twoThreads }, dir, resume: true,
            new StopWhenStageStarts("final/distill")).Run());
        var error = Assert.Throws<NatEmException>(() => new EmRun(data, options with { NBest = options.NBest + 1 }, dir, resume: true));
        Assert.Contains("different EM options", error.Message);
        var bf16 = training with { Precision = Precision.Bf16 };
        var resumed = new EmRun(data, options with { ArTraining = bf16, NarTraining = bf16 }, dir, resume: true).Run();

        // Another thread count rounds differently but selects the same targets; the final stages in bf16 end where fp32 does,
        // up to bf16 rounding: the same rounds, and each NAR model's training NLL within 2 %.
        Assert.Equal(File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(reference.FinalModel)!, "round1", "selected.bin")), File.ReadAllBytes(Path.Combine(dir, "round1", "selected.bin")));
        Assert.Equal(reference.Rounds.Select(r => r.Round), resumed.Rounds.Select(r => r.Round));
        foreach (var (expected, actual) in reference.Rounds.Zip(resumed.Rounds).Where(pair => pair.First.NarTrainNll is not null))
            Assert.True(Math.Abs(actual.NarTrainNll!.Value - expected.NarTrainNll!.Value) < 0.02 * expected.NarTrainNll.Value,
                $"round {expected.Round}: NAR training NLL {actual.NarTrainNll} resumed, {expected.NarTrainNll} uninterrupted");
    }

    /// <summary>Interrupts an EM run (as Ctrl+C would) when a stage whose title starts with <paramref name="prefix"/> begins.</summary>
    private sealed class StopWhenStageStarts(string prefix) : IEmObserver
    {
        public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) =>
            title.StartsWith(prefix, StringComparison.Ordinal) ? throw new OperationCanceledException() : train(new NatEm.Data.SynchronousProgress<TrainingProgress>(_ => { }));

        public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) =>
            title.StartsWith(prefix, StringComparison.Ordinal) ? throw new OperationCanceledException() : stage(new NatEm.Data.SynchronousProgress<(int, int)>(_ => { }));

        public void Message(string line) { }
    }

    [Fact]
    public void Fused_attention_kernel_equals_the_explicit_softmax_attention_in_fp32_and_closely_in_bf16()
    {
        torch.manual_seed(2);
        var attention = new MultiHeadAttention("attention", 64, 4, 0.0, new MixedPrecision());
        attention.eval();
        using var _ = torch.no_grad();
        var x = randn(3, 7, 64);
        var memory = randn(3, 5, 64);
        var keyMask = tensor(new[] { true, true, true, false, false, true, true, true, true, true, true, false, false, false, false }).view(3, 1, 1, 5);
        var causal = ones(7, 7, dtype: ScalarType.Bool).tril().unsqueeze(0).unsqueeze(0);
        foreach (var (queries, source, mask) in new[] { (x, memory, keyMask), (x, x, causal), (x, memory, (Tensor?)null) })
        {
            var (q, _, _) = attention.ProjectQueryKeyValue(queries);
            var (k, v) = attention.ProjectKeyValue(source);
            var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(16);
            if (mask is not null) scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);
            var reference = scores.softmax(-1).matmul(v);

            var fused = nn.functional.scaled_dot_product_attention(q, k, v, mask);
            Assert.True(fused.allclose(reference, rtol: 1e-4, atol: 1e-5), $"fp32: max difference {(fused - reference).abs().max().item<float>()}");
            var bf16 = nn.functional.scaled_dot_product_attention(q.to_type(ScalarType.BFloat16), k.to_type(ScalarType.BFloat16), v.to_type(ScalarType.BFloat16), mask);
            Assert.Equal(ScalarType.BFloat16, bf16.dtype);
            var difference = (bf16.to_type(ScalarType.Float32) - reference).abs().max().item<float>();
            Assert.True(difference is > 0 and < 0.05f, $"bf16: max difference {difference}");
        }
    }

    [Theory]
    [InlineData(ModelKind.Autoregressive)]
    [InlineData(ModelKind.NonAutoregressive)]
    public void A_model_frozen_for_inference_in_fp32_decodes_exactly_as_before_and_in_bf16_closely(ModelKind kind)
    {
        var model = TranslationModels.Create(kind, SyntheticTask.TinyConfig, seed: 9);
        var pairs = SyntheticTask.Pairs(16, seed: 10);
        Tensor Forward(ITranslationModel m)
        {
            m.Module.eval();
            using var _ = torch.no_grad();
            var source = SequenceTensors.Source(pairs.Sources);
            return m is ArTransformer ar
                ? ar.Forward(source, SequenceTensors.Pad(pairs.Targets, prependBos: true))
                : ((NarTransformer)m).Forward(source, SequenceTensors.Lengths(pairs.Targets)).TokenLogits;
        }
        ITranslationModel Loaded(Precision precision)
        {
            var loaded = TranslationModels.Create(kind, SyntheticTask.TinyConfig);
            loaded.Module.load_state_dict(model.Module.state_dict());
            loaded.FreezeForInference(precision);
            return loaded;
        }
        var reference = Forward(model);

        Assert.True(Forward(Loaded(Precision.Fp32)).allclose(reference, rtol: 1e-5, atol: 1e-5));
        var bf16 = Loaded(Precision.Bf16);
        var difference = (Forward(bf16) - reference).abs().max().item<float>();
        Assert.True(difference is > 0 and < 0.1f, $"bf16 logits differ by up to {difference}");
        Assert.Throws<InvalidOperationException>(() => bf16.Precision = Precision.Fp32);
        if (kind == ModelKind.Autoregressive)
        {
            var options = new NatEm.Decoding.BeamSearchOptions { Beam = 4, NBest = 4 };
            Assert.Equal(new NatEm.Decoding.BeamSearch((ArTransformer)model, options).Generate(pairs.Sources).Select(h => h.Select(x => x.Tokens)),
                new NatEm.Decoding.BeamSearch((ArTransformer)Loaded(Precision.Fp32), options).Generate(pairs.Sources).Select(h => h.Select(x => x.Tokens)));
        }
    }

    [Fact]
    public void Weights_keep_separate_query_key_value_matrices_so_model_directories_of_any_version_load()
    {
        // The query/key/value projections are fused at compute time only: the saved names are those of every
        // earlier version, so old model directories and optimizer states load unchanged.
        var names = new ArTransformer(SyntheticTask.TinyConfig).state_dict().Keys.ToList();
        foreach (var projection in new[] { "queryProjection", "keyProjection", "valueProjection", "outputProjection" })
            Assert.Contains($"decoder.layers.0.selfAttention.{projection}.weight", names);
        // Encoder: 2 layers × 1 attention, decoder: 2 layers × 2 attentions; each 4 linear layers × (weight, bias).
        Assert.Equal((2 * 1 + 2 * 2) * 4 * 2, names.Count(n => n.Contains("Attention.")));
    }

    [Fact]
    public void Incremental_bf16_decoding_equals_full_bf16_decoding()
    {
        var model = new ArTransformer(SyntheticTask.TinyConfig);
        model.FreezeForInference(Precision.Bf16);
        model.eval();
        using var _ = torch.no_grad();
        var pairs = SyntheticTask.Pairs(3, seed: 5);
        var targetInput = SequenceTensors.Pad(pairs.Targets, prependBos: true);
        var memory = model.Encode(SequenceTensors.Source(pairs.Sources));
        var full = model.DecodeAll(targetInput, memory).log_softmax(-1);
        var state = model.StartDecoding(memory, (int)targetInput.shape[1]);
        for (int step = 0; step < targetInput.shape[1]; step++)
        {
            var difference = (model.DecodeStep(targetInput.select(1, step), state) - full.select(1, step)).abs().max().item<float>();
            Assert.True(difference < 0.05f, $"step {step} differs by {difference}");
        }
    }

    private static string? SavedPrecision(string runDir) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "checkpoint_last", ModelStore.ManifestFile)))?["training"]?["options"]?["precision"]?.GetValue<string>();
}
