using NatEm.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Non-autoregressive Transformer: predicts the target length, then every target token in parallel from a
/// bidirectional decoder (<see cref="NarLoss.Length"/>); or, trained with CTC (<see cref="NarLoss.Ctc"/>), fills
/// R·|x| positions over the upsampled source with tokens and blanks, with no length classifier. Reuses the AR
/// model's encoder, decoder layers and embeddings.
/// </summary>
public sealed class NarTransformer : nn.Module, ITranslationModel
{
    private readonly Embeddings embeddings;
    private readonly TransformerEncoder encoder;
    private readonly TransformerDecoder decoder;
    private readonly Linear? lengthClassifier;
    private readonly Parameter? lengthToken;
    private readonly MixedPrecision precision = new();

    public NarTransformer(TransformerConfig config) : base("nar_transformer")
    {
        config.Validate();
        Config = config;
        embeddings = new Embeddings("embeddings", config, precision);
        encoder = new TransformerEncoder("encoder", config, precision);
        decoder = new TransformerDecoder("decoder", config, precision);
        if (config.NarLoss == NarLoss.Ctc)
        {
            RegisterComponents();
            return;
        }
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

    /// <summary>Whether this model is trained and decoded with CTC (no length classifier).</summary>
    public bool IsCtc => Config.NarLoss == NarLoss.Ctc;

    /// <summary>Longest source (without eos) the encoder takes: eos and the length token need positions too.</summary>
    public int MaxSourceTokens => Config.MaxPositions - 2;

    /// <summary>Longest target the length classifier can predict, and so score (CTC: the longest grid).</summary>
    public int MaxTargetTokens => IsCtc ? Config.MaxPositions : Math.Min(Config.MaxTargetLength, Config.MaxPositions);

    public int LengthClasses => Config.LengthClasses;

    /// <summary>Encodes a [B, S] source (tokens + eos, padded); returns the memory and length logits [B, classes].</summary>
    public (EncoderOutput Memory, Tensor LengthLogits) Encode(Tensor source)
    {
        var tokenMask = source.ne(SpecialTokens.Pad);
        if (lengthClassifier is null) throw new InvalidOperationException("a CTC model predicts no length: use EncodeSource");
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

    /// <summary>Encodes a [B, S] source without a length prediction (a CTC model's encoder).</summary>
    public EncoderOutput EncodeSource(Tensor source) => encoder.Forward(embeddings.Forward(source), source.ne(SpecialTokens.Pad));

    /// <summary>
    /// CTC: the decoder positions of each source [B], R·|x| (|x| without eos, at least 1), at most the positions the
    /// model has: a source longer than MaxPositions/R gets a grid of MaxPositions over its tokens.
    /// </summary>
    public Tensor GridLengths(Tensor source) => (SourceLengths(source).clamp_min(1) * Config.Upsample).clamp_max(Config.MaxPositions);

    /// <summary>CTC: log-probabilities [B, T, V] (float32) over the R·|x| positions of each source, and those lengths [B].</summary>
    public (Tensor LogProbs, Tensor GridLengths) CtcLogProbs(Tensor source)
    {
        var gridLengths = GridLengths(source);
        var logits = DecodeInputs(EncodeSource(source), DecoderInputs(source, gridLengths), gridLengths);
        return (logits.to_type(ScalarType.Float32).log_softmax(-1), gridLengths);
    }

    /// <summary>
    /// log p(y | x) of each target under the model, [B]: log p(|y| | x) + Σ_t log p(y_t | x, |y|) for a length model
    /// (a length beyond the classifier's range is scored as its clipped class); under CTC, −ctc_loss, the log of the
    /// sum over all alignments (of <see cref="Ctc.Labels"/>), and −∞ for a target that no alignment to the R·|x| positions produces.
    /// </summary>
    public Tensor LogLikelihood(Tensor source, IReadOnlyList<int[]> targets)
    {
        if (IsCtc) targets = targets.Select(Ctc.Labels).ToList();
        var lengths = SequenceTensors.Lengths(targets);
        var target = SequenceTensors.Pad(targets);
        if (IsCtc)
        {
            var (logProbs, gridLengths) = CtcLogProbs(source);
            return -Ctc.Loss(logProbs, target, gridLengths, lengths, zeroInfinity: false);
        }
        var (tokenLogits, lengthLogits) = Forward(source, lengths);
        var mask = SequenceTensors.LengthMask(lengths, target.shape[1]).to_type(ScalarType.Float32);
        var tokens = (tokenLogits.narrow(1, 0, target.shape[1]).log_softmax(-1).gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask).sum(1);
        var lengthLogProb = lengthLogits.log_softmax(-1).gather(1, LengthToClass(lengths, source).unsqueeze(1)).squeeze(1);
        return tokens + lengthLogProb;
    }

    public ITrainingPass BeginTraining(IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets) =>
        IsCtc ? new CtcTrainingPass(this, sources, targets) : new LengthTrainingPass(this, sources, targets);

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
    internal static Tensor SourceLengths(Tensor source) => source.ne(SpecialTokens.Pad).sum(1) - 1;

    private Tensor DecoderInputs(Tensor source, Tensor targetLengths, long maxLength)
    {
        long batch = source.shape[0];
        if (Config.DecoderInput == NarDecoderInput.Placeholder)
            return embeddings.EmbedTokens(full(batch, maxLength, SpecialTokens.Unk, dtype: ScalarType.Int64));

        // Uniform copy: target position i of T reads source position round(i·S/T), S without eos. CTC upsamples:
        // position i of the grid reads source position ⌊i·S/T⌋ = ⌊i/R⌋ (in integers), each source token R times.
        var sourceLengths = SourceLengths(source).clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1);
        var copied = IsCtc
            ? (arange(maxLength, dtype: ScalarType.Int64).unsqueeze(0) * SourceLengths(source).clamp_min(1).unsqueeze(1)).div(targetLengths.clamp_min(1).unsqueeze(1), rounding_mode: RoundingMode.floor)
            : (arange(maxLength, dtype: ScalarType.Float32).unsqueeze(0) * (sourceLengths / targetLengths.clamp_min(1).to_type(ScalarType.Float32).unsqueeze(1))).round().to_type(ScalarType.Int64);
        var index = copied.minimum(sourceLengths.to_type(ScalarType.Int64) - 1);
        var sourceEmbedded = embeddings.EmbedTokens(source);
        return sourceEmbedded.gather(1, index.unsqueeze(-1).expand(batch, maxLength, Config.ModelDim));
    }
}
