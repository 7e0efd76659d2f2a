using System.Text.Json.Nodes;
using NatEm.Modeling;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace NatEm.Tests.Cli;

/// <summary>
/// `natem export --format safetensors`: model.safetensors beside model.json and the tokenizer, read back exactly
/// (tensors and translations), read by a plain safetensors reader under the documented names, and untrusted
/// safetensors files refused with one line naming the file and the problem (exit code 4, as for weights.bin).
/// </summary>
[Collection(TinyModelsCollection.Name)]
public sealed class SafetensorsTests(TinyModels models)
{
    private string Export(string source, params string[] options)
    {
        var output = models.NewPath("export");
        var (exitCode, _, error) = TinyModels.Run(["export", "--model", source, "--out", output, .. options]);
        Assert.True(exitCode == ExitCodes.Ok, error);
        return output;
    }

    private static string Safetensors(string dir) => Path.Combine(dir, ModelStore.SafetensorsFile);

    /// <summary>Every tensor of the state dictionary, by name, as raw bytes in its stored dtype.</summary>
    private static Dictionary<string, (ScalarType Type, long[] Shape, byte[] Bytes)> Raw(Dictionary<string, Tensor> tensors) =>
        tensors.ToDictionary(t => t.Key, t => (t.Value.dtype, t.Value.shape, t.Value.bytes.ToArray()));

    [Theory]
    [InlineData("ar")]
    [InlineData("nar")]
    public void ASafetensorsExportLoadsWithIdenticalTensorsAndTranslatesIdentically(string kind)
    {
        var source = kind == "ar" ? models.Ar : models.Nar;

        var exported = Export(source, "--format", "safetensors");

        Assert.Equal(["merges.txt", "model.json", "model.safetensors", "vocab.json"],
            Directory.GetFiles(exported).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var manifest = ModelStore.ReadManifest(exported);
        Assert.Equal((WeightsFormat.Safetensors, 3), (manifest.WeightsFormat, manifest.FormatVersion));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Safetensors(exported)))), manifest.WeightsSha256);
        var (original, loaded) = (TinyModels.Weights(source), TinyModels.Weights(exported));
        Assert.Equal(original.Keys.Order(), loaded.Keys.Order());
        Assert.All(original, p => Assert.Equal(p.Value, loaded[p.Key]));
        var input = models.WriteLines("red cat", "the blue dog runs", "a small red bird sings");
        var expected = TinyModels.Run("translate", "--model", source, "--input", input);
        var actual = TinyModels.Run("translate", "--model", exported, "--input", input);
        Assert.True(actual.ExitCode == ExitCodes.Ok, actual.Error);
        Assert.Equal(expected.Output, actual.Output);
        // Back to weights.bin from the safetensors directory: the same tensors again.
        var back = Export(exported);
        Assert.Equal((WeightsFormat.TorchSharp, 2), (ModelStore.ReadManifest(back).WeightsFormat, ModelStore.ReadManifest(back).FormatVersion));
        var reloaded = TinyModels.Weights(back);
        Assert.All(original, p => Assert.Equal(p.Value, reloaded[p.Key]));
    }

    /// <summary>
    /// What a PyTorch user gets: a plain safetensors reader (PyBridge's, not NatEm's loader) finds every tensor of the
    /// model's state dictionary under the documented TorchSharp name, with its shape and exact values.
    /// </summary>
    [Fact]
    public void TheFileHoldsTheStateDictionaryUnderItsNames()
    {
        var exported = Export(models.Nar, "--format", "safetensors");

        using var scope = NewDisposeScope();
        var file = Raw(TorchSharp.PyBridge.Safetensors.LoadStateDict(Safetensors(exported)));
        var model = ModelStore.LoadModel(models.Nar);
        var state = Raw(model.Module.state_dict());
        GC.KeepAlive(model);
        Assert.Equal(state.Keys.Order(), file.Keys.Order());
        Assert.Contains("embeddings.tokens.weight", file.Keys);
        Assert.Contains("decoder.layers.0.encoderAttention.queryProjection.weight", file.Keys);
        Assert.Contains("lengthClassifier.weight", file.Keys);
        foreach (var (name, (type, shape, bytes)) in state)
        {
            Assert.Equal(ScalarType.Float32, file[name].Type);
            Assert.Equal(shape, file[name].Shape);
            Assert.True(bytes.AsSpan().SequenceEqual(file[name].Bytes), name);
        }
        var (min, max) = ModelStore.WeightsFileBounds(ModelStore.ReadManifest(exported));
        Assert.InRange(new FileInfo(Safetensors(exported)).Length, min, max);
    }

    /// <summary>--dtype works with safetensors: the file stores BF16/F16 tensors, and loads as the same rounded float32 weights as weights.bin of that dtype.</summary>
    [Theory]
    [InlineData("Bf16", ScalarType.BFloat16)]
    [InlineData("Fp16", ScalarType.Float16)]
    public void HalfPrecisionSafetensorsStoreHalfTensorsAndLoadLikeWeightsBin(string dtype, ScalarType stored)
    {
        var safetensors = Export(models.Ar, "--format", "safetensors", "--dtype", dtype);
        var weightsBin = Export(models.Ar, "--dtype", dtype);

        Assert.Equal(Enum.Parse<WeightsDtype>(dtype), ModelStore.ReadManifest(safetensors).WeightsDtype);
        using (NewDisposeScope())
            Assert.All(TorchSharp.PyBridge.Safetensors.LoadStateDict(Safetensors(safetensors)).Values, t => Assert.Equal(stored, t.dtype));
        long full = new FileInfo(Safetensors(Export(models.Ar, "--format", "safetensors"))).Length;
        Assert.InRange(new FileInfo(Safetensors(safetensors)).Length, full * 0.45, full * 0.55);
        var (expected, actual) = (TinyModels.Weights(weightsBin), TinyModels.Weights(safetensors));
        Assert.All(expected, p => Assert.Equal(p.Value, actual[p.Key]));
        var unrounded = TinyModels.Weights(models.Ar);
        Assert.Contains(expected.Keys, name => !expected[name].SequenceEqual(unrounded[name]));
    }

    public static TheoryData<string, string> Damages() => new()
    {
        { "cut in half", "bytes, but the architecture in model.json needs" },
        { "three bytes", "holds 3 bytes, but the architecture in model.json needs" },
        { "the last 8 bytes cut off", "truncated: tensor \"" },
        { "header size field of 2^60", "truncated or not a safetensors file" },
        { "header not JSON", "corrupt safetensors header: not JSON" },
        { "header a JSON array", "not a JSON object" },
        { "a tensor missing", "missing tensor \"encoder.finalNorm.bias\"" },
        { "an extra tensor", "unexpected tensor \"extra.weight\"" },
        { "a misshaped tensor", "has shape [64, 32], but the architecture in model.json needs [64, 64]" },
        { "a tensor of another dtype", "is stored as F16, but model.json's weights_dtype needs F32" },
        { "bytes appended", "bytes follow the last tensor's data" },
        { "a different file", "SHA-256 differs" },
        { "weights_format without format_version 3", "needs format_version 3" },
        { "model.safetensors without weights_format", "missing model weights (model.json says weights_format TorchSharp, but the directory holds model.safetensors)" },
    };

    /// <summary>An exported safetensors copy of the tiny AR model, damaged; returns it and the file the error must name.</summary>
    private (string Directory, string NamedFile) Damaged(string damage)
    {
        var dir = Export(models.Ar, "--format", "safetensors");
        var file = Safetensors(dir);
        var manifestPath = Path.Combine(dir, ModelStore.ManifestFile);
        var bytes = File.ReadAllBytes(file);
        void EditManifest(Action<JsonObject> edit)
        {
            var json = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
            edit(json);
            File.WriteAllText(manifestPath, json.ToJsonString());
        }
        // A file written by another program with a matching checksum (a crafted or hand-edited directory): only the
        // header check stands between it and the loader.
        void WriteTensors(Action<Dictionary<string, Tensor>> edit)
        {
            using var scope = NewDisposeScope();
            var state = TorchSharp.PyBridge.Safetensors.LoadStateDict(file);
            edit(state);
            File.Delete(file);
            TorchSharp.PyBridge.Safetensors.SaveStateDict(file, state);
            WriteChecksum();
        }
        void WriteChecksum() => EditManifest(json => json["weights_sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))));
        long headerSize = BitConverter.ToInt64(bytes, 0);

        switch (damage)
        {
            case "cut in half":
                File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
                return (dir, file);
            case "the last 8 bytes cut off":
                // Still within the size bounds (the header's allowance): the header check finds the short tensor.
                File.WriteAllBytes(file, bytes[..^8]);
                WriteChecksum();
                return (dir, file);
            case "three bytes":
                File.WriteAllBytes(file, bytes[..3]);
                return (dir, file);
            case "header size field of 2^60":
                BitConverter.GetBytes(1L << 60).CopyTo(bytes, 0);
                File.WriteAllBytes(file, bytes);
                return (dir, file);
            case "header not JSON":
                "{ 1: 2"u8.ToArray().CopyTo(bytes, 8);
                File.WriteAllBytes(file, bytes);
                WriteChecksum();
                return (dir, file);
            case "header a JSON array":
                Array.Fill(bytes, (byte)' ', 8, (int)headerSize);
                "[]"u8.ToArray().CopyTo(bytes, 8);
                File.WriteAllBytes(file, bytes);
                WriteChecksum();
                return (dir, file);
            case "a tensor missing":
                WriteTensors(state => state.Remove("encoder.finalNorm.bias"));
                return (dir, file);
            case "an extra tensor":
                WriteTensors(state => state["extra.weight"] = zeros(2, 2));
                return (dir, file);
            case "a misshaped tensor":
                WriteTensors(state => state["decoder.layers.0.selfAttention.queryProjection.weight"] = zeros(64, 32));
                return (dir, file);
            case "a tensor of another dtype":
                WriteTensors(state => state["encoder.finalNorm.weight"] = state["encoder.finalNorm.weight"].to_type(ScalarType.Float16));
                return (dir, file);
            case "bytes appended":
                File.WriteAllBytes(file, [.. bytes, 0, 0, 0, 0]);
                WriteChecksum();
                return (dir, file);
            case "a different file":
                // Same header, the data of one tensor changed: only the checksum can tell.
                bytes[^1] ^= 0x40;
                File.WriteAllBytes(file, bytes);
                return (dir, file);
            case "weights_format without format_version 3":
                EditManifest(json => json["format_version"] = 2);
                return (dir, manifestPath);
            case "model.safetensors without weights_format":
                EditManifest(json =>
                {
                    json.Remove("weights_format");
                    json["format_version"] = 2;
                });
                return (dir, Path.Combine(dir, ModelStore.WeightsFile));
            default:
                throw new ArgumentException(damage);
        }
    }

    [Theory]
    [MemberData(nameof(Damages))]
    public void ADamagedSafetensorsFileIsABadModelInOneLineNamingTheFile(string damage, string problem)
    {
        var (dir, namedFile) = Damaged(damage);

        var error = Assert.Throws<NatEmException>(() => ModelStore.Load(dir));
        Assert.Equal(ExitCodes.BadModel, error.ExitCode);
        Assert.StartsWith($"{namedFile}: ", error.Message);
        Assert.True(error.Message.Contains(problem, StringComparison.Ordinal), error.Message);
        Assert.DoesNotContain('\n', error.Message);
        var (exitCode, output, stderr) = TinyModels.Run("translate", "--model", dir, "--input", models.WriteLines("red cat"));
        Assert.True(exitCode == ExitCodes.BadModel, stderr);
        Assert.Equal("", output);
        Assert.Equal($"natem: error: {error.Message}", stderr.TrimEnd());
    }
}
