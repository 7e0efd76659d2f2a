using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>The dtype in which a model's linear layers and attention matmuls compute.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision { Fp32, Bf16 }

public static class Precisions
{
    private static readonly Lazy<bool> NativeBf16 = new(DetectNativeBf16);

    /// <summary>True when the CPU has bf16 matmul instructions (avx512_bf16 or amx_bf16; checked on Linux x64 only).</summary>
    public static bool HasNativeBf16 => NativeBf16.Value;

    /// <summary>bf16 where the CPU computes it natively, fp32 elsewhere (without native support, libtorch's bf16 matmul is a slow scalar loop).</summary>
    public static Precision MachineDefault => HasNativeBf16 ? Precision.Bf16 : Precision.Fp32;

    /// <summary>A one-line warning for a precision this CPU runs slowly; null if it is fine.</summary>
    public static string? SlownessWarning(Precision precision) => precision == Precision.Bf16 && !HasNativeBf16
        ? "this CPU has no native bf16 (no avx512_bf16 or amx_bf16 in /proc/cpuinfo): bf16 matmuls run far slower than fp32 here"
        : null;

    public static ScalarType DType(this Precision precision) => precision == Precision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;

    private static bool DetectNativeBf16()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return false;
        try
        {
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
            return flags is not null && flags.Split(' ', StringSplitOptions.RemoveEmptyEntries) is var f && (f.Contains("avx512_bf16") || f.Contains("amx_bf16"));
        }
        catch (IOException)
        {
            return false;
        }
    }
}

/// <summary>
/// Mixed precision done in the model code, since TorchSharp 0.107 has no autocast: one instance, shared by every
/// layer of a model, casts the inputs and weights of linear layers and attention matmuls to the compute dtype.
/// Parameters (and so the optimizer state and checkpoints) stay fp32, the casts being part of the autograd graph;
/// layer norm, the residual stream, softmax statistics, logits for the losses and the NAR length classifier stay fp32.
/// </summary>
public sealed class MixedPrecision
{
    public Precision Precision { get; set; } = Precision.Fp32;

    public ScalarType ComputeType => Precision.DType();

    public Tensor Cast(Tensor x) => x.dtype == ComputeType ? x : x.to_type(ComputeType);

    /// <summary>The linear layer <paramref name="layer"/> applied in the compute dtype.</summary>
    public Tensor Linear(Linear layer, Tensor x) =>
        nn.functional.linear(Cast(x), Cast(layer.weight!), layer.bias is { } bias ? Cast(bias) : null);

    /// <summary><paramref name="a"/> · <paramref name="b"/> computed in the compute dtype, returned in fp32 (for logits).</summary>
    public Tensor MatMulToFloat(Tensor a, Tensor b)
    {
        var product = Cast(a).matmul(Cast(b));
        return product.dtype == ScalarType.Float32 ? product : product.to_type(ScalarType.Float32);
    }
}
