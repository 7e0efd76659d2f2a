using NatEm.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Non-autoregressive Transformer: predicts the target length, then every target token in parallel from a
/// bidirectional decoder. Reuses the AR model's encoder, decoder layers and embeddings.
/// </summary>
public sealed class NarTransformer : nn.Module, ITranslationModel
{
    private readonly Embeddings embeddings;
    private readonly TransformerEncoder encoder;
    private readonly TransformerDecoder decoder;
    private readonly Linear lengthClassifier;
    private readonly Parameter? lengthToken;
    private readonly MixedPrecision precision = new();

    public NarTransformer(TransformerConfig config) : base("nar_transformer")
    {
        config.Validate();
        Config = config;
        embeddings = new Embeddings("embeddings", config, precision);
        encoder = new TransformerEncoder("encoder", config, precision);
        decoder = new TransformerDecoder("decoder", config, precision);
        lengthClassifier = nn.Linear(config.ModelDim, LengthClasses);
        if (config.LengthPrediction == LengthPrediction.Absolute)
            lengthToken = nn.Parameter(normal(0, Math.Pow(config.ModelDim, -0.5), [1, 1, config.ModelDim]));
        RegisterComponents();
    }

    public TransformerConfig Config { get; }
    public Precision Precision { get => precision.Precision; set => precision.Precision = value; }
    public void FreezeForInference(Precision precision) => this.precision.FreezeForInference(precision);
    public ModelKind Kind => ModelKind.NonAutoregressive;
    public nn.Module Module => this;

    /// <summary>Longest source (without eos) the encoder takes: eos and the length token need positions too.</summary>
    public int MaxSourceTokens => Config.MaxPositions - 2;

    /// <summary>Longest target the length classifier can predict, and so score.</summary>
    public int MaxTargetTokens => Math.Min(Config.MaxTargetLength, Config.MaxPositions);

    public int LengthClasses => Config.LengthClasses;

    /// <summary>Encodes a [B, S] source (tokens + eos, padded); returns the memory and length logits [B, classes].</summary>
    public (EncoderOutput Memory, Tensor LengthLogits) Encode(Tensor source)
    {
        var tokenMask = source.ne(SpecialTokens.Pad);
        if (lengthToken is null)
        {
            var memory = encoder.Forward(embeddings.Forward(source), tokenMask);
            var weights = tokenMask.unsqueeze(-1).to_type(memory.States.dtype);
            var pooled = (memory.States * weights).sum(1) / weights.sum(1);
            return (memory, lengthClassifier.forward(pooled));
        }
        // The length token sits at position 0; source tokens take positions 1..S.
        var batch = source.shape[0];
        var embedded = cat([lengthToken.expand(batch, 1, Config.ModelDim), embeddings.Forward(source, start: 1)], 1);
        var mask = cat([ones(batch, 1, dtype: ScalarType.Bool), tokenMask], 1);
        var withLength = encoder.Forward(embedded, mask);
        var states = withLength.States;
        var lengthLogits = lengthClassifier.forward(states.select(1, 0));
        return (new EncoderOutput(states.narrow(1, 1, states.shape[1] - 1), withLength.KeyMask.narrow(3, 1, mask.shape[1] - 1)), lengthLogits);
    }

    /// <summary>Token logits [B, T, V] for targets of the given lengths [B] (T = max length).</summary>
    public Tensor DecodeTokens(Tensor source, EncoderOutput memory, Tensor targetLengths) =>
        DecodeInputs(memory, DecoderInputs(source, targetLengths), targetLengths);

    /// <summary>
    /// Token logits [B, T, V] from given decoder inputs [B, T, d] (before positions). Training criteria that change
    /// the inputs (glancing) use this; inference always goes through <see cref="DecodeTokens"/>.
    /// </summary>
    public Tensor DecodeInputs(EncoderOutput memory, Tensor inputs, Tensor targetLengths)
    {
        long maxLength = inputs.shape[1];
        var targetMask = SequenceTensors.LengthMask(targetLengths, maxLength);
        var hidden = decoder.Forward(inputs + embeddings.Positions(0, maxLength).unsqueeze(0), targetMask.unsqueeze(1).unsqueeze(1), memory);
        return embeddings.OutputLogits(hidden);
    }

    /// <summary>The model's own decoder inputs [B, T, d] (placeholder or uniform copy, before positions), T = max length (≥ 1).</summary>
    public Tensor DecoderInputs(Tensor source, Tensor targetLengths) =>
        DecoderInputs(source, targetLengths, Math.Max(1, targetLengths.max().item<long>()));

    /// <summary>Token embeddings [B, T, d] at the scale of the decoder inputs (the shared, √d-scaled embedding table).</summary>
    public Tensor EmbedTokens(Tensor ids) => embeddings.EmbedTokens(ids);

    /// <summary>Token logits and length logits for source [B, S] and target lengths [B].</summary>
    public (Tensor TokenLogits, Tensor LengthLogits) Forward(Tensor source, Tensor targetLengths)
    {
        var (memory, lengthLogits) = Encode(source);
        return (DecodeTokens(source, memory, targetLengths), lengthLogits);
    }

    /// <summary>The length class of each target length [B] (for the length loss).</summary>
    public Tensor LengthToClass(Tensor targetLengths, Tensor source) => Config.LengthPrediction == LengthPrediction.Absolute
        ? targetLengths.clamp(0, Config.MaxTargetLength)
        : (targetLengths - SourceLengths(source)).clamp(-Config.MaxLengthOffset, Config.MaxLengthOffset) + Config.MaxLengthOffset;

    /// <summary>Target lengths (≥ 1) of length classes [B, k].</summary>
    public Tensor ClassToLength(Tensor classes, Tensor source) => (Config.LengthPrediction == LengthPrediction.Absolute
        ? classes
        : classes - Config.MaxLengthOffset + SourceLengths(source).unsqueeze(1)).clamp(1, Config.MaxTargetLength);

    /// <summary>Source lengths without eos and padding.</summary>
    private static Tensor SourceLengths(Tensor source) => source.ne(SpecialTokens.Pad).sum(1) - 1;

    private Tensor DecoderInputs(Tensor source, Tensor targetLengths, long maxLength)
    {
        long batch = source.shape[0];
        if (Config.DecoderInput == NarDecoderInput.Placeholder)
            return embeddings.EmbedTokens(full(batch, maxLength, SpecialTokens.Unk, dtype: ScalarType.Int64));

        // Uniform copy: target position i of T reads source position round(i·S/T), S without eos.
        var sourceLengths = SourceLengths(source).clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1);
        var ratio = sourceLengths / targetLengths.clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1);
        var positions = arange(maxLength, dtype: ScalarType.Float32).unsqueeze(0);
        var index = (positions * ratio).round().to_type(ScalarType.Int64).minimum(sourceLengths.to_type(ScalarType.Int64) - 1);
        var sourceEmbedded = embeddings.EmbedTokens(source);
        return sourceEmbedded.gather(1, index.unsqueeze(-1).expand(batch, maxLength, Config.ModelDim));
    }
}
