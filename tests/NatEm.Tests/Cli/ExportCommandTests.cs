using System.Text.Json.Nodes;
using NatEm.Modeling;
using TorchSharp;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class ExportCommandTests(TinyModels models)
{
    [Theory]
    [InlineData("Bf16", 1 / 128.0)]
    [InlineData("Fp16", 1 / 1024.0)]
    public void HalfPrecisionExportHalvesTheWeightsAndReloadsAsRoundedFloat32(string dtype, double relativeTolerance)
    {
        var output = models.NewPath($"export-{dtype}");

        var (exitCode, _, error) = TinyModels.Run("export", "--model", models.Ar, "--out", output, "--dtype", dtype);

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(Enum.Parse<WeightsDtype>(dtype), ModelStore.ReadManifest(output).WeightsDtype);
        long original = new FileInfo(Path.Combine(models.Ar, ModelStore.WeightsFile)).Length;
        long exported = new FileInfo(Path.Combine(output, ModelStore.WeightsFile)).Length;
        Assert.InRange(exported, original * 0.45, original * 0.55);
        var (before, after) = (TinyModels.Weights(models.Ar), TinyModels.Weights(output));
        Assert.All(ModelStore.LoadModel(output).Module.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
        foreach (var name in before.Keys)
            for (int i = 0; i < before[name].Length; i++)
                Assert.True(Math.Abs(before[name][i] - after[name][i]) <= relativeTolerance * Math.Abs(before[name][i]) + 1e-7,
                    $"{name}[{i}]: {before[name][i]} became {after[name][i]}");
        Assert.Contains(before.Keys, name => !before[name].SequenceEqual(after[name]));
    }

    [Fact]
    public void Bf16ExportTranslatesLikeTheOriginalAndKeepsProvenance()
    {
        var output = models.NewPath("export-translate");
        Assert.Equal(ExitCodes.Ok, TinyModels.Run("export", "--model", models.Ar, "--out", output, "--dtype", "bf16").ExitCode);
        var input = models.WriteLines("red cat", "the blue dog runs");

        var original = TinyModels.Run("translate", "--model", models.Ar, "--input", input, "--beam", "1");
        var exported = TinyModels.Run("translate", "--model", output, "--input", input, "--beam", "1");

        Assert.Equal(ExitCodes.Ok, exported.ExitCode);
        Assert.Equal(original.Output, exported.Output);
        Assert.Equal(Path.GetFullPath(models.Ar), (string?)ModelStore.ReadManifest(output).Training?["exported_from"]);
        Assert.False(File.Exists(Path.Combine(output, "optimizer.bin")));
    }

    [Fact]
    public void ExportingOntoAnExistingDirectoryIsAUsageErrorAndChangesNothing()
    {
        var output = models.NewPath("existing");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");

        var (exitCode, _, error) = TinyModels.Run("export", "--model", models.Nar, "--out", output);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Contains("already exists", error);
        Assert.Equal(["keep.txt"], Directory.GetFiles(output).Select(Path.GetFileName));
    }

    [Fact]
    public void AFormatOneManifestWithoutWeightsDtypeLoadsAsFloat32()
    {
        var copy = models.NewPath("format1");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(models.Nar)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var manifestPath = Path.Combine(copy, ModelStore.ManifestFile);
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        manifest.Remove("weights_dtype");
        manifest["format_version"] = 1;
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        Assert.Equal(WeightsDtype.Fp32, ModelStore.ReadManifest(copy).WeightsDtype);
        var (original, loaded) = (TinyModels.Weights(models.Nar), TinyModels.Weights(copy));
        Assert.All(original, p => Assert.Equal(p.Value, loaded[p.Key]));
    }
}
