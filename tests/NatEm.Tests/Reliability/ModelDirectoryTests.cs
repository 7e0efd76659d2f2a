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
