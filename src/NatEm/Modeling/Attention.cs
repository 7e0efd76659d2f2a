using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Multi-head attention, split into key/value projection and attention so that a decoder can project the encoder
/// memory once and grow its own keys step by step. Self-attention projects queries, keys and values with one
/// fused matrix product. It attends with libtorch's scaled-dot-product kernel in either precision: for bf16 inputs
/// the kernel keeps its softmax statistics and accumulators in fp32.
/// </summary>
public sealed class MultiHeadAttention : nn.Module
{
    // Separate layers keep the saved weights' names; the stacks below fuse them at compute time.
    private readonly Linear queryProjection, keyProjection, valueProjection, outputProjection;
    private readonly Linear[] queryKeyValue, query, keyValue, output;
    private readonly int heads, headDim;
    private readonly double dropout;
    private readonly MixedPrecision precision;

    public MultiHeadAttention(string name, int modelDim, int heads, double dropout, MixedPrecision precision) : base(name)
    {
        this.precision = precision;
        this.heads = heads;
        headDim = modelDim / heads;
        this.dropout = dropout;
        queryProjection = nn.Linear(modelDim, modelDim);
        keyProjection = nn.Linear(modelDim, modelDim);
        valueProjection = nn.Linear(modelDim, modelDim);
        outputProjection = nn.Linear(modelDim, modelDim);
        foreach (var linear in new[] { queryProjection, keyProjection, valueProjection, outputProjection })
            nn.init.xavier_uniform_(linear.weight);
        queryKeyValue = precision.Stack(queryProjection, keyProjection, valueProjection);
        query = precision.Stack(queryProjection);
        keyValue = precision.Stack(keyProjection, valueProjection);
        output = precision.Stack(outputProjection);
        RegisterComponents();
    }

    /// <summary>Keys and values of <paramref name="source"/> [B, S, d], each [B, heads, S, headDim].</summary>
    public (Tensor Keys, Tensor Values) ProjectKeyValue(Tensor source)
    {
        var heads = SplitHeads(precision.Linear(keyValue, source), 2);
        return (heads[0], heads[1]);
    }

    /// <summary>Queries, keys and values of <paramref name="x"/> [B, T, d] from one product, each [B, heads, T, headDim].</summary>
    public (Tensor Queries, Tensor Keys, Tensor Values) ProjectQueryKeyValue(Tensor x)
    {
        var heads = SplitHeads(precision.Linear(queryKeyValue, x), 3);
        return (heads[0], heads[1], heads[2]);
    }

    /// <summary>
    /// Attends from <paramref name="query"/> [B, T, d] over projected keys/values. <paramref name="mask"/> is boolean,
    /// broadcastable to [B, heads, T, S], true where attention is allowed.
    /// </summary>
    public Tensor Attend(Tensor query, Tensor keys, Tensor values, Tensor? mask) =>
        AttendProjected(SplitHeads(precision.Linear(this.query, query), 1)[0], keys, values, mask);

    /// <summary>Attention from projected queries [B, heads, T, headDim], merged back to [B, T, d] and projected out.</summary>
    public Tensor AttendProjected(Tensor queries, Tensor keys, Tensor values, Tensor? mask)
    {
        var attended = nn.functional.scaled_dot_product_attention(queries, keys, values, mask, training ? dropout : 0.0);
        var (batch, _, length, _) = attended.GetTensorDimensions();
        return precision.Linear(output, attended.transpose(1, 2).reshape(batch, length, heads * headDim));
    }

    /// <summary>Self-attention of <paramref name="x"/> [B, T, d] over itself.</summary>
    public Tensor SelfAttend(Tensor x, Tensor? mask)
    {
        var (queries, keys, values) = ProjectQueryKeyValue(x);
        return AttendProjected(queries, keys, values, mask);
    }

    public Tensor Forward(Tensor query, Tensor source, Tensor? mask)
    {
        var (keys, values) = ProjectKeyValue(source);
        return Attend(query, keys, values, mask);
    }

    /// <summary>[B, L, parts·d] → <paramref name="parts"/> tensors [B, heads, L, headDim].</summary>
    private Tensor[] SplitHeads(Tensor x, int parts)
    {
        var (batch, length, _) = x.GetTensorDimensions3();
        return x.view(batch, length, parts, heads, headDim).permute(2, 0, 3, 1, 4).unbind(0);
    }
}

internal static class TensorShapes
{
    public static (long, long, long, long) GetTensorDimensions(this Tensor t) => (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    public static (long, long, long) GetTensorDimensions3(this Tensor t) => (t.shape[0], t.shape[1], t.shape[2]);
}
