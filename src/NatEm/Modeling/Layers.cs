using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>Position-wise feed-forward block: Linear → ReLU → dropout → Linear.</summary>
public sealed class FeedForward : nn.Module
{
    private readonly Linear expand, contract;
    private readonly Linear[] expandStack, contractStack;
    private readonly double dropout;
    private readonly MixedPrecision precision;

    public FeedForward(string name, int modelDim, int hiddenDim, double dropout, MixedPrecision precision) : base(name)
    {
        this.precision = precision;
        expand = nn.Linear(modelDim, hiddenDim);
        contract = nn.Linear(hiddenDim, modelDim);
        nn.init.xavier_uniform_(expand.weight);
        nn.init.xavier_uniform_(contract.weight);
        expandStack = precision.Stack(expand);
        contractStack = precision.Stack(contract);
        this.dropout = dropout;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) =>
        precision.Linear(contractStack, nn.functional.dropout(nn.functional.relu(precision.Linear(expandStack, x)), dropout, training));
}

/// <summary>A pre-norm residual sub-layer: x + f(norm(x)).</summary>
public sealed class Residual : nn.Module
{
    private readonly LayerNorm norm;
    private readonly double dropout;

    public Residual(string name, int modelDim, double dropout) : base(name)
    {
        norm = nn.LayerNorm(modelDim);
        this.dropout = dropout;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Func<Tensor, Tensor> sublayer) => x + nn.functional.dropout(sublayer(norm.forward(x)), dropout, training);
}

public sealed class EncoderLayer : nn.Module
{
    private readonly MultiHeadAttention selfAttention;
    private readonly FeedForward feedForward;
    private readonly Residual attentionBlock, feedForwardBlock;

    public EncoderLayer(string name, TransformerConfig c, MixedPrecision precision) : base(name)
    {
        selfAttention = new MultiHeadAttention("self_attn", c.ModelDim, c.Heads, c.AttentionDropout, precision);
        feedForward = new FeedForward("ffn", c.ModelDim, c.FeedForwardDim, c.Dropout, precision);
        attentionBlock = new Residual("self_attn_block", c.ModelDim, c.Dropout);
        feedForwardBlock = new Residual("ffn_block", c.ModelDim, c.Dropout);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor keyMask) =>
        feedForwardBlock.Forward(attentionBlock.Forward(x, h => selfAttention.SelfAttend(h, keyMask)), feedForward.Forward);
}

/// <summary>
/// Decoder layer: self-attention (causal for AR, bidirectional for NAR), encoder attention, feed-forward.
/// <see cref="Step"/> decodes one position against a <see cref="DecoderState"/> key/value cache.
/// </summary>
public sealed class DecoderLayer : nn.Module
{
    private readonly MultiHeadAttention selfAttention, encoderAttention;
    private readonly FeedForward feedForward;
    private readonly Residual selfAttentionBlock, encoderAttentionBlock, feedForwardBlock;

    public DecoderLayer(string name, TransformerConfig c, MixedPrecision precision) : base(name)
    {
        selfAttention = new MultiHeadAttention("self_attn", c.ModelDim, c.Heads, c.AttentionDropout, precision);
        encoderAttention = new MultiHeadAttention("encoder_attn", c.ModelDim, c.Heads, c.AttentionDropout, precision);
        feedForward = new FeedForward("ffn", c.ModelDim, c.FeedForwardDim, c.Dropout, precision);
        selfAttentionBlock = new Residual("self_attn_block", c.ModelDim, c.Dropout);
        encoderAttentionBlock = new Residual("encoder_attn_block", c.ModelDim, c.Dropout);
        feedForwardBlock = new Residual("ffn_block", c.ModelDim, c.Dropout);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor selfMask, EncoderOutput memory)
    {
        x = selfAttentionBlock.Forward(x, h => selfAttention.SelfAttend(h, selfMask));
        x = encoderAttentionBlock.Forward(x, h => encoderAttention.Forward(h, memory.States, memory.KeyMask));
        return feedForwardBlock.Forward(x, feedForward.Forward);
    }

    public (Tensor Keys, Tensor Values) ProjectMemory(EncoderOutput memory) => encoderAttention.ProjectKeyValue(memory.States);

    /// <summary>One decoding step: x is [B, 1, d]; the cache of this layer grows by one position.</summary>
    public Tensor Step(Tensor x, DecoderState state, int layer)
    {
        x = selfAttentionBlock.Forward(x, h =>
        {
            var (queries, keys, values) = selfAttention.ProjectQueryKeyValue(h);
            var (allKeys, allValues) = state.AppendSelf(layer, keys, values);
            return selfAttention.AttendProjected(queries, allKeys, allValues, null);
        });
        x = encoderAttentionBlock.Forward(x, h =>
            encoderAttention.Attend(h, state.MemoryKeys[layer], state.MemoryValues[layer], state.MemoryKeyMask));
        return feedForwardBlock.Forward(x, feedForward.Forward);
    }
}

/// <summary>Encoder states with the attention mask over them (true = real token), [B, 1, 1, S].</summary>
public sealed record EncoderOutput(Tensor States, Tensor KeyMask)
{
    public EncoderOutput IndexSelect(Tensor rows) => new(States.index_select(0, rows), KeyMask.index_select(0, rows));
}

/// <summary>Token embedding scaled by √d plus sinusoidal positions.</summary>
public sealed class Embeddings : nn.Module
{
    private readonly Embedding tokens;
    private readonly int modelDim;
    private readonly double scale;
    private readonly MixedPrecision precision;

    public Embeddings(string name, TransformerConfig c, MixedPrecision precision) : base(name)
    {
        this.precision = precision;
        modelDim = c.ModelDim;
        scale = Math.Sqrt(c.ModelDim);
        tokens = nn.Embedding(c.VocabSize, c.ModelDim, padding_idx: Text.SpecialTokens.Pad);
        precision.DeclareMatrix(this, () => tokens.weight!);
        using (no_grad())
        {
            nn.init.normal_(tokens.weight, 0, Math.Pow(c.ModelDim, -0.5));
            tokens.weight![Text.SpecialTokens.Pad].zero_();
        }
        RegisterComponents();
    }

    /// <summary>Output logits [.., V] of decoder states [.., d] through the shared embedding matrix, in fp32 for the losses.</summary>
    public Tensor OutputLogits(Tensor hidden) => precision.MatMulToFloat(hidden, this);

    public Tensor EmbedTokens(Tensor ids) => tokens.forward(ids) * scale;

    /// <summary>Position embeddings for positions [start, start + length), shape [length, d].</summary>
    public Tensor Positions(long start, long length)
    {
        var positions = arange(start, start + length, dtype: ScalarType.Int64);
        int half = modelDim / 2;
        var frequencies = exp(arange(half, dtype: ScalarType.Float32) * (-Math.Log(10000.0) / (half - 1)));
        var angles = positions.to_type(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0);
        var table = cat([sin(angles), cos(angles)], 1);
        return modelDim % 2 == 0 ? table : nn.functional.pad(table, [0, 1]);
    }

    /// <summary>Embeds [B, T] token ids at positions [start, start + T).</summary>
    public Tensor Forward(Tensor ids, long start = 0) => EmbedTokens(ids) + Positions(start, ids.shape[1]).unsqueeze(0);
}

/// <summary>The Transformer encoder stack shared by the AR and NAR models.</summary>
public sealed class TransformerEncoder : nn.Module
{
    private readonly ModuleList<EncoderLayer> layers;
    private readonly LayerNorm finalNorm;
    private readonly double dropout;

    public TransformerEncoder(string name, TransformerConfig c, MixedPrecision precision) : base(name)
    {
        layers = new ModuleList<EncoderLayer>(Enumerable.Range(0, c.EncoderLayers).Select(i => new EncoderLayer($"layer{i}", c, precision)).ToArray());
        finalNorm = nn.LayerNorm(c.ModelDim);
        dropout = c.Dropout;
        RegisterComponents();
    }

    /// <summary>Encodes embedded inputs [B, S, d]; <paramref name="tokenMask"/> [B, S] is true at real tokens.</summary>
    public EncoderOutput Forward(Tensor embedded, Tensor tokenMask)
    {
        var keyMask = tokenMask.unsqueeze(1).unsqueeze(1);
        var x = nn.functional.dropout(embedded, dropout, training);
        foreach (var layer in layers) x = layer.Forward(x, keyMask);
        return new EncoderOutput(finalNorm.forward(x), keyMask);
    }
}

/// <summary>The Transformer decoder stack shared by the AR and NAR models.</summary>
public sealed class TransformerDecoder : nn.Module
{
    private readonly ModuleList<DecoderLayer> layers;
    private readonly LayerNorm finalNorm;
    private readonly double dropout;

    public TransformerDecoder(string name, TransformerConfig c, MixedPrecision precision) : base(name)
    {
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, c.DecoderLayers).Select(i => new DecoderLayer($"layer{i}", c, precision)).ToArray());
        finalNorm = nn.LayerNorm(c.ModelDim);
        dropout = c.Dropout;
        RegisterComponents();
    }

    /// <summary>Decodes all positions at once; <paramref name="selfMask"/> is causal (AR) or a padding mask (NAR).</summary>
    public Tensor Forward(Tensor embedded, Tensor selfMask, EncoderOutput memory)
    {
        var x = nn.functional.dropout(embedded, dropout, training);
        foreach (var layer in layers) x = layer.Forward(x, selfMask, memory);
        return finalNorm.forward(x);
    }

    /// <summary>A cache for as many steps as <paramref name="positions"/> [maxSteps, d] has rows.</summary>
    public DecoderState StartState(EncoderOutput memory, Tensor positions) =>
        new(layers.Select(l => l.ProjectMemory(memory)).ToArray(), memory.KeyMask, positions);

    /// <summary>Decodes the next position of every row of <paramref name="state"/>: [B, 1, d] in, [B, 1, d] out.</summary>
    public Tensor Step(Tensor embedded, DecoderState state)
    {
        var x = embedded;
        for (int i = 0; i < layers.Count; i++) x = layers[i].Step(x, state, i);
        state.Advance();
        return finalNorm.forward(x);
    }
}
