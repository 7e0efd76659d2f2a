using System.Text.Json.Nodes;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Text;

namespace NatEm.Tests.Reliability;

/// <summary>
/// Broken model directories, through <see cref="ModelStore.Load"/> and through `translate` and `eval`: each is a
/// <see cref="NatEmException"/> with exit code BadModel whose one-line message names the broken file, never an
/// internal error or a stack trace.
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class ModelDirectoryTests(TinyModels models)
{
    /// <summary>A damage done to a copy of a good model directory, and the file the error must name.</summary>
    public static TheoryData<string> Damages() =>
    [
        "missing directory", "missing model.json", "model.json not JSON", "model.json without config", "model.json with an empty config",
        "model.json with an unknown kind", "model.json with post-norm layers", "model.json with learned positions", "newer format_version", "missing weights.bin", "weights.bin cut in half",
        "weights.bin random bytes", "weights.bin partly overwritten with 0xFF", "missing vocab.json", "vocab.json not JSON", "merges.txt malformed line",
        "model.json with a null config", "model.json with a null tokenizer", "model.json with null tokenizer files", "model.json with a null tokenizer kind",
        "model.json with vocab_size 2000000000", "model.json with encoder_layers 2000000000", "model.json with model_dim 16384",
        "model.json with decoder_layers 100", "model.json whose tokenizer size differs from its config", "weights.bin twice as long",
    ];

    /// <summary>Copies the tiny AR model, damages the copy, and returns its directory and the file the error must name.</summary>
    private (string Directory, string NamedFile) Damaged(string damage)
    {
        var dir = models.NewPath("model");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(models.Ar))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        string In(string name) => Path.Combine(dir, name);
        var manifest = In(ModelStore.ManifestFile);
        var weights = In(ModelStore.WeightsFile);
        var vocab = In(BpeSubwordTokenizer.VocabFileName);
        var merges = In(BpeSubwordTokenizer.MergesFileName);
        void EditManifest(Action<JsonObject> edit)
        {
            var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
            edit(json);
            File.WriteAllText(manifest, json.ToJsonString());
        }

        switch (damage)
        {
            case "missing directory":
                Directory.Delete(dir, recursive: true);
                return (dir, dir);
            case "missing model.json":
                File.Delete(manifest);
                return (dir, manifest);
            case "model.json not JSON":
                File.WriteAllText(manifest, "{ \"format_version\": 1, ");
                return (dir, manifest);
            case "model.json without config":
                EditManifest(json => json.Remove("config"));
                return (dir, manifest);
            case "model.json with an empty config":
                EditManifest(json => json["config"] = new JsonObject());
                return (dir, manifest);
            case "model.json with an unknown kind":
                EditManifest(json => json["kind"] = "Banana");
                return (dir, manifest);
            case "model.json with post-norm layers":
                EditManifest(json => json["config"]!["pre_norm"] = false);
                return (dir, manifest);
            case "model.json with learned positions":
                EditManifest(json => json["config"]!["positions"] = "Learned");
                return (dir, manifest);
            case "newer format_version":
                EditManifest(json => json["format_version"] = ModelStore.FormatVersion + 1);
                return (dir, manifest);
            case "model.json with a null config":
                EditManifest(json => json["config"] = null);
                return (dir, manifest);
            case "model.json with a null tokenizer":
                EditManifest(json => json["tokenizer"] = null);
                return (dir, manifest);
            case "model.json with null tokenizer files":
                EditManifest(json => json["tokenizer"]!["files"] = null);
                return (dir, manifest);
            case "model.json with a null tokenizer kind":
                EditManifest(json => json["tokenizer"]!["kind"] = null);
                return (dir, manifest);
            case "model.json with vocab_size 2000000000":
                EditManifest(json =>
                {
                    json["config"]!["vocab_size"] = 2_000_000_000;
                    json["tokenizer"]!["vocab_size"] = 2_000_000_000;
                });
                return (dir, manifest);
            case "model.json with encoder_layers 2000000000":
                EditManifest(json => json["config"]!["encoder_layers"] = 2_000_000_000);
                return (dir, manifest);
            case "model.json with model_dim 16384":
                // Within the bounds, but a model 256 times wider than weights.bin holds: refused before it is allocated.
                EditManifest(json => json["config"]!["model_dim"] = 16384);
                return (dir, weights);
            case "model.json with decoder_layers 100":
                EditManifest(json => json["config"]!["decoder_layers"] = 100);
                return (dir, weights);
            case "model.json whose tokenizer size differs from its config":
                EditManifest(json => json["tokenizer"]!["vocab_size"] = json["tokenizer"]!["vocab_size"]!.GetValue<int>() + 1);
                return (dir, manifest);
            case "weights.bin twice as long":
                File.WriteAllBytes(weights, [.. File.ReadAllBytes(weights), .. File.ReadAllBytes(weights)]);
                return (dir, weights);
            case "missing weights.bin":
                File.Delete(weights);
                return (dir, weights);
            case "weights.bin cut in half":
                var bytes = File.ReadAllBytes(weights);
                File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
                return (dir, weights);
            case "weights.bin random bytes":
                var noise = new byte[new FileInfo(weights).Length];
                new Random(5).NextBytes(noise);
                File.WriteAllBytes(weights, noise);
                return (dir, weights);
            case "weights.bin partly overwritten with 0xFF":
                using (var stream = File.OpenWrite(weights))
                {
                    stream.Position = stream.Length / 2;
                    stream.Write(Enumerable.Repeat((byte)0xFF, (int)(stream.Length / 4)).ToArray());
                }
                return (dir, weights);
            case "missing vocab.json":
                File.Delete(vocab);
                return (dir, vocab);
            case "vocab.json not JSON":
                File.WriteAllText(vocab, "{ \"<pad>\": 0,, }");
                return (dir, vocab);
            case "merges.txt malformed line":
                File.AppendAllText(merges, "a b c\n");
                return (dir, $"{merges}:{File.ReadAllLines(merges).Length}");
            default:
                throw new ArgumentException(damage);
        }
    }

    private static void AssertOneLineBadModelError(string namedFile, (int ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == ExitCodes.BadModel, $"exit code {run.ExitCode}: {run.Error}");
        Assert.Equal("", run.Output);
        Assert.StartsWith($"natem: error: {namedFile}", run.Error);
        Assert.Single(run.Error.TrimEnd().Split('\n'));
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void LoadNamesTheBrokenFile(string damage)
    {
        var (dir, namedFile) = Damaged(damage);

        var error = Assert.Throws<NatEmException>(() => ModelStore.Load(dir));
        Assert.Equal(ExitCodes.BadModel, error.ExitCode);
        Assert.StartsWith(namedFile, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void TranslateAndEvalExitWithBadModelAndOneLine(string damage)
    {
        var (dir, namedFile) = Damaged(damage);

        AssertOneLineBadModelError(namedFile, TinyModels.Run("translate", "--model", dir, "--input", models.WriteLines("red cat")));
        AssertOneLineBadModelError(namedFile, TinyModels.Run("eval", "--model", dir, "--data", models.Data.Directory, "--limit", "2"));
    }

    /// <summary>
    /// weights.bin that is a link to /dev/zero or a named pipe: reading either would never end (an endless file, a
    /// pipe with no writer), so it is refused from its metadata, within seconds, without being read.
    /// </summary>
    [Theory]
    [InlineData("link to /dev/zero")]
    [InlineData("named pipe")]
    public async Task WeightsThatAreNotARegularFileAreRefusedWithoutHanging(string kind)
    {
        var (dir, _) = Damaged("missing weights.bin");
        var weights = Path.Combine(dir, ModelStore.WeightsFile);
        if (kind == "named pipe")
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [weights]);
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        else
        {
            File.CreateSymbolicLink(weights, "/dev/zero");
        }

        var load = Task.Run(() => ModelStore.Load(dir));
        Assert.True(await Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(30))) == load, "ModelStore.Load did not return within 30 s");
        var error = Assert.IsType<NatEmException>(load.Exception?.InnerException);
        Assert.Equal(ExitCodes.BadModel, error.ExitCode);
        Assert.Equal($"{weights}: is empty or not a regular file (a pipe or a device); expected the model's weights", error.Message);
        var translate = Task.Run(() => TinyModels.Run("translate", "--model", dir, "--input", models.WriteLines("red cat")));
        Assert.True(await Task.WhenAny(translate, Task.Delay(TimeSpan.FromSeconds(30))) == translate, "translate did not return within 30 s");
        AssertOneLineBadModelError(weights, await translate);
    }

    /// <summary>
    /// Commands that build a model from model.json before filling it (a warm start, an average) check the weights file
    /// first too: a model.json 256 times wider than its weights is refused before anything is allocated.
    /// </summary>
    [Fact]
    public void WarmStartsAndAveragesCheckTheWeightsBeforeBuildingTheModel()
    {
        var (dir, weights) = Damaged("model.json with model_dim 16384");

        AssertOneLineBadModelError(weights, TinyModels.Run("train-ar", "--data", models.Data.Directory, "--out", models.NewPath("run"), "--init-from", dir, "--max-updates", "1"));
        AssertOneLineBadModelError(weights, TinyModels.Run("average", "--inputs", dir, dir, "--out", models.NewPath("average")));
    }

    /// <summary>
    /// What weights.bin must hold is known from model.json alone: the parameter count of each kind and architecture
    /// equals the built model's, and real weights files of every dtype fall within the bounds.
    /// </summary>
    [Fact]
    public void ParameterCountsAndWeightsFileBoundsMatchTheBuiltModels()
    {
        foreach (var kind in new[] { ModelKind.Autoregressive, ModelKind.NonAutoregressive })
        foreach (var config in new[]
                 {
                     TransformerConfig.Preset("tiny", 37), TransformerConfig.Preset("small", 101) with { EncoderLayers = 1, DecoderLayers = 2 },
                     TransformerConfig.Preset("tiny", 40) with { LengthPrediction = LengthPrediction.Offset, FeedForwardDim = 96, Heads = 2 },
                     TransformerConfig.Preset("tiny", 41) with { NarLoss = NarLoss.Ctc, Upsample = 3 },
                 })
        {
            var model = TranslationModels.Create(kind, config);
            Assert.Equal(model.Module.parameters().Sum(p => p.numel()), config.ParameterCount(kind));
            Assert.Equal(model.Module.state_dict().Count, config.TensorCount(kind));
        }
        foreach (var source in new[] { models.Ar, models.Nar })
        foreach (var dtype in new[] { WeightsDtype.Fp32, WeightsDtype.Bf16 })
        {
            var dir = models.NewPath("export");
            Assert.Equal(0, TinyModels.Run("export", "--model", source, "--out", dir, "--dtype", dtype.ToString()).ExitCode);
            var (min, max) = ModelStore.WeightsFileBounds(ModelStore.ReadManifest(dir));
            Assert.InRange(new FileInfo(Path.Combine(dir, ModelStore.WeightsFile)).Length, min, max);
        }
    }

    [Fact]
    public void ANarModelAsTheArRescorerIsABadModel()
    {
        var run = TinyModels.Run("translate", "--model", models.Nar, "--input", models.WriteLines("red cat"), "--length-beam", "2", "--rescore", models.Nar);

        AssertOneLineBadModelError(Path.Combine(models.Nar, ModelStore.ManifestFile), run);
        Assert.Contains("needs an autoregressive (AR) model", run.Error);
    }

    /// <summary>A copy of the tiny AR model whose weights are rewritten by <paramref name="edit"/> and saved with a valid checksum.</summary>
    private string CopyWithWeights(Action<ITranslationModel> edit)
    {
        var dir = models.NewPath("model");
        Directory.CreateDirectory(dir);
        foreach (var file in Directory.GetFiles(models.Ar))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var model = ModelStore.LoadModel(dir);
        edit(model);
        ModelStore.WriteFiles(dir, ModelStore.ReadManifest(dir), model, dir);
        return dir;
    }

    [Fact]
    public void NonFiniteWeightsAreABadModelNamingTheParameter()
    {
        var dir = CopyWithWeights(model =>
        {
            using var _ = TorchSharp.torch.no_grad();
            model.Module.state_dict().Values.Last().view(-1)[0] = float.NaN;
        });

        var run = TinyModels.Run("translate", "--model", dir, "--input", models.WriteLines("red cat"), "--beam", "1");

        AssertOneLineBadModelError(Path.Combine(dir, ModelStore.WeightsFile), run);
        Assert.Contains("NaN or infinite", run.Error);
    }

    [Fact]
    public void FormatVersion1DirectoriesWithoutAChecksumStillLoad()
    {
        var dir = CopyWithWeights(_ => { });
        var manifest = Path.Combine(dir, ModelStore.ManifestFile);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!.AsObject();
        Assert.Equal(64, json["weights_sha256"]!.GetValue<string>().Length);
        // Every model.json written so far names these two; they are still read, and only these values exist.
        Assert.True(json["config"]!["pre_norm"]!.GetValue<bool>());
        Assert.Equal("Sinusoidal", json["config"]!["positions"]!.GetValue<string>());
        json.Remove("weights_sha256");
        json["format_version"] = 1;
        File.WriteAllText(manifest, json.ToJsonString());

        var loaded = ModelStore.Load(dir);

        Assert.Null(loaded.Manifest.WeightsSha256);
        Assert.Equal(1, loaded.Manifest.FormatVersion);
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", dir, "--input", models.WriteLines("red cat"));
        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines("red cat")).Output, output);
    }
}
