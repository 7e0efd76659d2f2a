using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>
/// fairseq's average_checkpoints: the element-wise mean of the weights of several checkpoints of one run,
/// saved as a complete model directory (manifest, weights, tokenizer) that loads like any checkpoint.
/// </summary>
public static class CheckpointAveraging
{
    /// <summary>The newest <paramref name="count"/> numbered checkpoints of a run directory, oldest first.</summary>
    public static IReadOnlyList<string> LastNumbered(string runDir, int count)
    {
        if (count < 1) throw new NatEmException("--last must be at least 1", ExitCodes.Usage);
        var numbered = new CheckpointDirectory(runDir).Numbered();
        if (numbered.Count < count)
            throw NatEmException.In(Path.Combine(runDir, "checkpoints"),
                $"has {numbered.Count} numbered checkpoints but --last asks for {count} (raise --keep-last when training to keep more)", ExitCodes.Usage);
        return numbered.Skip(numbered.Count - count).ToList();
    }

    /// <summary>Averages the checkpoints' weights into the new model directory <paramref name="outputDir"/>, written atomically.</summary>
    public static void Average(IReadOnlyList<string> checkpoints, string outputDir, WeightsDtype dtype = WeightsDtype.Fp32)
    {
        if (checkpoints.Count == 0) throw new NatEmException("no checkpoints to average", ExitCodes.Usage);
        if (Path.Exists(outputDir))
            throw NatEmException.In(outputDir, "already exists; remove it or choose another --out", ExitCodes.Usage);
        var manifest = ModelStore.ReadManifest(checkpoints[0]);
        foreach (var other in checkpoints.Skip(1))
        {
            var otherManifest = ModelStore.ReadManifest(other);
            if (otherManifest.Kind != manifest.Kind || otherManifest.Config != manifest.Config || otherManifest.Tokenizer.VocabSize != manifest.Tokenizer.VocabSize)
                throw NatEmException.In(Path.Combine(other, ModelStore.ManifestFile),
                    $"model kind, architecture or vocabulary differs from {checkpoints[0]}; only checkpoints of one run can be averaged", ExitCodes.Usage);
        }

        // Before the model is built: every weights file must fit the architecture it claims.
        foreach (var checkpoint in checkpoints) ModelStore.RequireWeightsFile(checkpoint, ModelStore.ReadManifest(checkpoint));

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var model = TranslationModels.Create(manifest.Kind, manifest.Config);
        // Sums in float64 so that the mean of many checkpoints does not lose precision.
        var sums = new Dictionary<string, Tensor>();
        foreach (var checkpoint in checkpoints)
        {
            ModelStore.LoadWeights(checkpoint, model);
            foreach (var (name, weights) in model.Module.state_dict())
                sums[name] = sums.TryGetValue(name, out var sum) ? sum.add_(weights) : weights.to_type(ScalarType.Float64, copy: true);
        }
        foreach (var (name, weights) in model.Module.state_dict())
            weights.copy_(sums[name].div_(checkpoints.Count));

        var provenance = new JsonObject { ["averaged_from"] = new JsonArray([.. checkpoints.Select(c => JsonValue.Create(Path.GetFullPath(c)))]) };
        ModelStore.Save(outputDir, manifest with { Training = provenance, WeightsDtype = dtype, FormatVersion = ModelStore.FormatVersion }, model, checkpoints[0]);
    }
}
