using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Multi-head attention on libtorch's fused scaled-dot-product kernel, split into key/value projection and
/// attention so that a decoder can project the encoder memory once and grow its own keys step by step.
/// </summary>
public sealed class MultiHeadAttention : nn.Module
{
    private readonly Linear queryProjection, keyProjection, valueProjection, outputProjection;
    private readonly int heads, headDim;
    private readonly double dropout;

    public MultiHeadAttention(string name, int modelDim, int heads, double dropout) : base(name)
    {
        this.heads = heads;
        headDim = modelDim / heads;
        this.dropout = dropout;
        queryProjection = nn.Linear(modelDim, modelDim);
        keyProjection = nn.Linear(modelDim, modelDim);
        valueProjection = nn.Linear(modelDim, modelDim);
        outputProjection = nn.Linear(modelDim, modelDim);
        foreach (var linear in new[] { queryProjection, keyProjection, valueProjection, outputProjection })
            nn.init.xavier_uniform_(linear.weight);
        RegisterComponents();
    }

    /// <summary>Keys and values of <paramref name="source"/> [B, S, d], each [B, heads, S, headDim].</summary>
    public (Tensor Keys, Tensor Values) ProjectKeyValue(Tensor source) =>
        (SplitHeads(keyProjection.forward(source)), SplitHeads(valueProjection.forward(source)));

    /// <summary>
    /// Attends from <paramref name="query"/> [B, T, d] over projected keys/values. <paramref name="mask"/> is boolean,
    /// broadcastable to [B, heads, T, S], true where attention is allowed.
    /// </summary>
    public Tensor Attend(Tensor query, Tensor keys, Tensor values, Tensor? mask)
    {
        var q = SplitHeads(queryProjection.forward(query));
        var attended = nn.functional.scaled_dot_product_attention(q, keys, values, mask, training ? dropout : 0.0);
        var (batch, _, length, _) = attended.GetTensorDimensions();
        return outputProjection.forward(attended.transpose(1, 2).reshape(batch, length, heads * headDim));
    }

    public Tensor Forward(Tensor query, Tensor source, Tensor? mask)
    {
        var (keys, values) = ProjectKeyValue(source);
        return Attend(query, keys, values, mask);
    }

    private Tensor SplitHeads(Tensor x)
    {
        var (batch, length, _) = x.GetTensorDimensions3();
        return x.view(batch, length, heads, headDim).transpose(1, 2);
    }
}

internal static class TensorShapes
{
    public static (long, long, long, long) GetTensorDimensions(this Tensor t) => (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    public static (long, long, long) GetTensorDimensions3(this Tensor t) => (t.shape[0], t.shape[1], t.shape[2]);
}
