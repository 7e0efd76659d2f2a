using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Tests.Em;
using NatEm.Training;
using TorchSharp;

namespace NatEm.Tests.Training;

public sealed class TrainingJobTests
{
    // A learning rate of 1e-12 moves no weight by more than 1e-11 in a few Adam updates: the weights stay those the run started from.
    private static readonly TrainingOptions Frozen = new()
    {
        MaxUpdates = 2, ValidateEvery = 2, MaxTokens = 1024, LearningRate = 1e-12, WarmupUpdates = 1, BestMetric = BestCheckpointMetric.Loss,
    };

    private static readonly PreparedData Data = TinyPreparedData.Create(trainPairs: 20);
    private static readonly TransformerConfig Tiny = TransformerConfig.Preset("tiny", Data.Tokenizer.VocabSize);

    private static string Train(InitialModel initial, TrainingOptions options, string? runDir = null, bool resume = false)
    {
        runDir ??= SyntheticTask.TempDir();
        new TrainingJob(initial, options, runDir, Data, ParallelExamples.Of(Data.Split("train")), ParallelExamples.Of(Data.Split("valid")),
            new JsonObject { ["test"] = "job" }, validationBleu: null).Run(resume);
        return runDir;
    }

    private static void AssertSameWeights(string expectedModel, string actualModel, bool same = true)
    {
        var expected = ModelStore.LoadModel(expectedModel).Module.parameters().ToList();
        var actual = ModelStore.LoadModel(actualModel).Module.parameters().ToList();
        Assert.Equal(same, expected.Zip(actual).All(p => p.First.allclose(p.Second, rtol: 0, atol: 1e-9)));
    }

    [Fact]
    public void A_warm_start_begins_a_new_run_from_the_given_weights_and_its_checkpoints_record_it()
    {
        var teacher = Path.Combine(Train(new InitialModel(ModelKind.Autoregressive, Tiny), Frozen with { Seed = 5 }), "checkpoint_last");

        var fresh = Train(new InitialModel(ModelKind.Autoregressive, Tiny), Frozen);
        var warm = Train(new InitialModel(ModelKind.Autoregressive, Tiny, WeightsFrom: teacher), Frozen);

        AssertSameWeights(teacher, Path.Combine(warm, "checkpoint_last"));
        AssertSameWeights(teacher, Path.Combine(fresh, "checkpoint_last"), same: false);
        var provenance = ModelStore.ReadManifest(Path.Combine(warm, "checkpoint_last")).Training!;
        Assert.Equal("job", provenance["test"]!.GetValue<string>());
        Assert.Equal(Path.GetFullPath(Data.Directory), provenance["data"]!.GetValue<string>());
        Assert.Equal(teacher, provenance["warm_start"]!.GetValue<string>());
        Assert.Null(ModelStore.ReadManifest(Path.Combine(fresh, "checkpoint_last")).Training!["warm_start"]);
    }

    [Fact]
    public void A_resumed_run_continues_from_its_own_checkpoint_not_from_the_warm_start()
    {
        var run = Train(new InitialModel(ModelKind.NonAutoregressive, Tiny), Frozen);
        var other = Path.Combine(Train(new InitialModel(ModelKind.NonAutoregressive, Tiny), Frozen with { Seed = 9 }), "checkpoint_last");
        var before = SyntheticTask.TempDir();
        Directory.Delete(before);
        CopyDirectory(new DirectoryInfo(Path.Combine(run, "checkpoint_last")).ResolveLinkTarget(true)!.FullName, before);

        Train(new InitialModel(ModelKind.NonAutoregressive, Tiny, WeightsFrom: other), Frozen with { MaxUpdates = 3, ValidateEvery = 3 }, run, resume: true);

        Assert.Equal(3, CheckpointDirectory.ReadState(Path.Combine(run, "checkpoint_last")).Update);
        AssertSameWeights(before, Path.Combine(run, "checkpoint_last"));
    }

    [Fact]
    public void Fine_tuning_takes_the_models_architecture_with_a_given_dropout_and_needs_its_kind_and_the_datas_tokenizer()
    {
        var config = Tiny with { Dropout = 0.3 };
        var model = Path.Combine(Train(new InitialModel(ModelKind.Autoregressive, config), Frozen), "checkpoint_last");

        // The preset of the choices does not apply (it would change the weights' shapes); a given dropout does.
        var choices = new ArchitectureOptions { Preset = "small" };
        Assert.Equal(new InitialModel(ModelKind.Autoregressive, config, model), InitialModel.FineTune(model, ModelKind.Autoregressive, Data, choices));
        Assert.Equal(new InitialModel(ModelKind.Autoregressive, config with { Dropout = 0.1, AttentionDropout = 0.1 }, model),
            InitialModel.FineTune(model, ModelKind.Autoregressive, Data, choices with { Dropout = 0.1 }));
        var wrongKind = Assert.Throws<NatEmException>(() => InitialModel.FineTune(model, ModelKind.NonAutoregressive, Data, choices));
        Assert.Equal(ExitCodes.BadModel, wrongKind.ExitCode);

        var otherTokenizer = SyntheticTask.TempDir();
        Directory.Delete(otherTokenizer);
        CopyDirectory(new DirectoryInfo(model).ResolveLinkTarget(true)!.FullName, otherTokenizer);
        var manifestPath = Path.Combine(otherTokenizer, ModelStore.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        // Both sizes, as a model of another vocabulary has (a model.json whose two sizes differ is itself damaged).
        manifest["tokenizer"]!["vocab_size"] = Data.Tokenizer.VocabSize + 1;
        manifest["config"]!["vocab_size"] = Data.Tokenizer.VocabSize + 1;
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        var error = Assert.Throws<NatEmException>(() => InitialModel.FineTune(otherTokenizer, ModelKind.Autoregressive, Data, choices));
        Assert.Equal(ExitCodes.BadModel, error.ExitCode);
        Assert.Contains("but the prepared data", error.Message);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }
}
