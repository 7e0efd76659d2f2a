using System.CommandLine;
using System.Text.Json.Nodes;
using NatEm.Modeling;

namespace NatEm.Cli.Commands;

/// <summary>
/// `natem export`: a model directory ready to ship, weights only (no optimizer or trainer state), optionally
/// stored in bf16 or fp16 (CTranslate2's converters' <c>--quantization</c>), and optionally as
/// <c>model.safetensors</c> for PyTorch users (<c>--format safetensors</c>).
/// </summary>
public static class ExportCommand
{
    /// <summary>`--dtype`, shared by export and average.</summary>
    public static Option<WeightsDtype?> DtypeOption() =>
        EnumOptions.Create<WeightsDtype>("--dtype", "Element type of the stored weights (the model computes in float32 either way)", default(WeightsDtype));

    /// <summary>The --dtype given, else float32.</summary>
    public static WeightsDtype Dtype(ParseResult p, Option<WeightsDtype?> option) => p.GetValue(option) ?? default;

    public static Command Create()
    {
        var model = SharedOptions.Model();
        var output = SharedOptions.Out("the new model directory (it must not exist)");
        var dtype = DtypeOption();
        var format = EnumOptions.Create<WeightsFormat>("--format",
            "File of the weights: weights.bin (TorchSharp) or model.safetensors (Safetensors, which PyTorch reads; tensor names in ARCHITECTURE.md)", default(WeightsFormat));
        var command = new Command("export", "Write a shippable copy of a model directory: weights only, optionally in bf16/fp16 or as safetensors") { model, output, dtype, format };
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var sourceDir = ModelArguments.Resolve(p, p.GetValue(model)!);
            var outputDir = p.GetValue(output)!;
            var loaded = ModelStore.Load(sourceDir);
            var provenance = loaded.Manifest.Training?.DeepClone().AsObject() ?? [];
            provenance["exported_from"] = Path.GetFullPath(sourceDir);
            var manifest = loaded.Manifest with { WeightsDtype = Dtype(p, dtype), WeightsFormat = p.GetValue(format) ?? default, Training = provenance };
            ModelStore.Save(outputDir, manifest, loaded.Model, sourceDir);
            long bytes = new DirectoryInfo(outputDir).EnumerateFiles().Sum(f => f.Length);
            p.InvocationConfiguration.Output.WriteLine($"exported {sourceDir} to {outputDir} ({manifest.WeightsDtype} weights in {ModelStore.WeightsFileOf(manifest.WeightsFormat)}, {bytes / 1048576.0:F1} MB)");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
