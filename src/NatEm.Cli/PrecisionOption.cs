using System.CommandLine;
using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>The --precision option of the training and decoding commands, and its one-time slowness warning.</summary>
public static class PrecisionOption
{
    private static int warned;

    public static Option<Precision?> ForTraining() => new("--precision")
    {
        Description = "Compute dtype of linear layers and attention: Fp32 or Bf16; weights, optimizer state and checkpoints stay fp32 "
            + $"(default: Bf16 where the CPU has avx512_bf16 or amx_bf16, else Fp32; here {Precisions.MachineDefault})",
    };

    public static Option<Precision?> ForInference() => new("--precision")
    {
        Description = $"Compute dtype of decoding: Fp32 or Bf16, the weights cast once at load (default: Bf16 where the CPU has avx512_bf16 or amx_bf16, else Fp32; here {Precisions.MachineDefault})",
    };

    /// <summary>The given precision or the machine's default, warning once per process about one this CPU runs slowly.</summary>
    public static Precision Resolve(Precision? given)
    {
        var precision = given ?? Precisions.MachineDefault;
        if (Precisions.SlownessWarning(precision) is { } warning && Interlocked.Exchange(ref warned, 1) == 0)
            Console.Error.WriteLine($"natem: warning: --precision {precision}: {warning}");
        return precision;
    }
}
