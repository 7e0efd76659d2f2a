using System.Text.Json.Serialization;
using TorchSharp;
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

    private static bool DetectNativeBf16() =>
        CpuInfo.Field("flags")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is { } flags && (flags.Contains("avx512_bf16") || flags.Contains("amx_bf16"));
}

/// <summary>
/// Mixed precision done in the model code, since TorchSharp 0.107 has no autocast: one instance, shared by every
/// layer of a model, runs linear layers and attention matmuls in the compute dtype. While training, parameters
/// (and so the optimizer state and checkpoints) stay fp32 and each use casts them, the casts being part of the
/// autograd graph; layer norm, the residual stream, softmax statistics, logits for the losses and the NAR length
/// classifier stay fp32. <see cref="FreezeForInference"/> casts (and fuses) the weights once instead.
/// </summary>
public sealed class MixedPrecision
{
    private readonly List<Linear[]> stacks = [];
    private readonly List<(object Key, Func<Tensor> Matrix)> matrices = [];
    /// <summary>Weights cast (and stacks fused) once by <see cref="FreezeForInference"/>, by stack or matrix key.</summary>
    private readonly Dictionary<object, (Tensor Weight, Tensor? Bias)> frozen = new(ReferenceEqualityComparer.Instance);

    /// <summary>The compute dtype; fixed once frozen, the weights having been cast to it.</summary>
    public Precision Precision
    {
        get => precision;
        set => precision = !IsFrozen || value == precision ? value
            : throw new InvalidOperationException($"the model's weights were frozen in {precision} for inference");
    }
    private Precision precision = Precision.Fp32;

    public ScalarType ComputeType => Precision.DType();

    /// <summary>True once <see cref="FreezeForInference"/> ran: the weights are fixed, and the model is for decoding only.</summary>
    public bool IsFrozen => frozen.Count > 0;

    public Tensor Cast(Tensor x) => x.dtype == ComputeType ? x : x.to_type(ComputeType);

    /// <summary>
    /// Declares linear layers with the same input size as one projection, applied by <see cref="Linear"/> with one
    /// matrix product (e.g. the fused query/key/value projection); a single layer is a stack of one.
    /// </summary>
    public Linear[] Stack(params Linear[] layers)
    {
        stacks.Add(layers);
        return layers;
    }

    /// <summary>Declares the matrix that <see cref="MatMulToFloat"/> multiplies by under <paramref name="key"/> (e.g. the shared embedding).</summary>
    public void DeclareMatrix(object key, Func<Tensor> matrix) => matrices.Add((key, matrix));

    /// <summary>The layers of a <see cref="Stack"/> applied to <paramref name="x"/> as one product, outputs concatenated on the last dimension.</summary>
    public Tensor Linear(Linear[] stack, Tensor x)
    {
        var (weight, bias) = frozen.TryGetValue(stack, out var f) ? f : StackedWeights(stack);
        return nn.functional.linear(Cast(x), weight, bias);
    }

    /// <summary><paramref name="a"/> · Mᵀ for the matrix M declared under <paramref name="key"/>, computed in the compute dtype and returned in fp32 (for logits).</summary>
    public Tensor MatMulToFloat(Tensor a, object key)
    {
        var transposed = frozen.TryGetValue(key, out var f) ? f.Weight : Cast(matrices.First(m => m.Key == key).Matrix()).t();
        var product = Cast(a).matmul(transposed);
        return product.dtype == ScalarType.Float32 ? product : product.to_type(ScalarType.Float32);
    }

    /// <summary>
    /// Sets the precision and casts every declared weight once, stacks fused into one matrix, so that decoding steps
    /// neither cast nor concatenate. The model must not be trained afterwards.
    /// </summary>
    public void FreezeForInference(Precision precision)
    {
        this.precision = precision;
        using var _ = torch.no_grad();
        frozen.Clear();
        foreach (var stack in stacks) frozen[stack] = Detached(StackedWeights(stack));
        foreach (var (key, matrix) in matrices) frozen[key] = Detached((Cast(matrix()).t().contiguous(), null));
    }

    private (Tensor Weight, Tensor? Bias) StackedWeights(Linear[] stack) => stack.Length == 1
        ? (Cast(stack[0].weight!), stack[0].bias is { } b ? Cast(b) : null)
        : (Cast(cat(stack.Select(l => l.weight!).ToArray(), 0)), stack[0].bias is null ? null : Cast(cat(stack.Select(l => l.bias!).ToArray(), 0)));

    private static (Tensor, Tensor?) Detached((Tensor Weight, Tensor? Bias) w)
    {
        w.Weight.DetachFromDisposeScope();
        w.Bias?.DetachFromDisposeScope();
        return w;
    }
}
