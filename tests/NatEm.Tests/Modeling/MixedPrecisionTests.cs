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
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags"))?.Split(' ') ?? []
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
    public void A_bf16_run_resumes_in_fp32_and_an_old_checkpoint_without_precision_resumes()
    {
        var pairs = SyntheticTask.Pairs(48, seed: 41);
        var dir = SyntheticTask.TempDir();
        TrainingOptions Options(Precision precision, int updates) => new()
        {
            MaxTokens = 256, MaxUpdates = updates, ValidateEvery = 4, LogEvery = 1, WarmupUpdates = 4, LearningRate = 3e-3,
            BestMetric = BestCheckpointMetric.Loss, Precision = precision,
        };
        var losses = new List<double>();
        var progress = new NatEm.Data.SynchronousProgress<TrainingProgress>(p => { if (p.ValidLoss is null) losses.Add(p.Loss); });
        Trainer Trainer(Precision precision, int updates) =>
            new(TranslationModels.Create(ModelKind.Autoregressive, SyntheticTask.TinyConfig, seed: 1), Options(precision, updates), dir, pairs, null, SyntheticTask.NoTokenizer);

        Trainer(Precision.Bf16, 8).Run(false, progress);
        Assert.Equal("Bf16", SavedPrecision(dir));
        Trainer(Precision.Fp32, 16).Run(true, progress);
        Assert.Equal("Fp32", SavedPrecision(dir));

        // A checkpoint written before the option existed has no precision in its options.
        var manifestPath = Path.Combine(dir, "checkpoint_last", ModelStore.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["training"]!["options"]!.AsObject().Remove("precision");
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var result = Trainer(Precision.Bf16, 24).Run(true, progress);

        Assert.Equal(24, result.State.Update);
        Assert.Equal(24, losses.Count);
        Assert.True(losses[^1] < losses[0] * 0.8, $"loss went from {losses[0]:F3} to {losses[^1]:F3}");
        var saved = ModelStore.LoadModel(Path.Combine(dir, "checkpoint_last"));
        Assert.All(saved.Module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
    }

    [Fact]
    public void An_EM_run_resumes_with_the_other_precision_but_not_with_other_options()
    {
        var data = TinyPreparedData.Create(trainPairs: 20);
        var dir = SyntheticTask.TempDir();
        var training = new TrainingOptions { MaxUpdates = 2, Precision = Precision.Fp32 };
        var options = new EmOptions { Architecture = new() { Preset = "tiny" }, ArTraining = training, NarTraining = training };
        _ = new EmRun(data, options, dir, resume: false);
        // As an EM run started before the option existed: its saved options have no precision.
        var statePath = Path.Combine(dir, "em_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        var savedOptions = JsonNode.Parse(state["options"]!.GetValue<string>())!;
        foreach (var stage in new[] { "ar_training", "nar_training" }) savedOptions[stage]!.AsObject().Remove("precision");
        state["options"] = savedOptions.ToJsonString();
        File.WriteAllText(statePath, state.ToJsonString());

        var bf16 = training with { Precision = Precision.Bf16 };
        _ = new EmRun(data, options with { ArTraining = bf16, NarTraining = bf16 }, dir, resume: true);
        var error = Assert.Throws<NatEmException>(() => new EmRun(data, options with { NBest = options.NBest + 1 }, dir, resume: true));
        Assert.Contains("different EM options", error.Message);
    }

    private static string? SavedPrecision(string runDir) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, "checkpoint_last", ModelStore.ManifestFile)))?["training"]?["options"]?["precision"]?.GetValue<string>();
}
