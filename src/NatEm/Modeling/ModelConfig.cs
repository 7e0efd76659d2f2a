using System.Text.Json.Serialization;

namespace NatEm.Modeling;

[JsonConverter(typeof(JsonStringEnumConverter<ModelKind>))]
public enum ModelKind { Autoregressive, NonAutoregressive }

/// <summary>How positions are encoded; sinusoidal is the only kind, named in model.json since format 1.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PositionKind>))]
public enum PositionKind { Sinusoidal }

/// <summary>How the NAR decoder's input at each target position is built.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NarDecoderInput>))]
public enum NarDecoderInput
{
    /// <summary>A mask-token embedding plus the position embedding (the paper's code).</summary>
    Placeholder,
    /// <summary>Position i of a target of length T copies the embedding of source position round(i·S/T) (Gu et al. 2018).</summary>
    UniformCopy,
}

/// <summary>What a NAR model is trained to predict, which fixes how its decoder lays out target positions.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NarLoss>))]
public enum NarLoss
{
    /// <summary>A length classifier predicts |y|; the decoder fills exactly that many positions (the paper's model).</summary>
    Length,
    /// <summary>
    /// CTC (Graves et al. 2006; Libovický &amp; Helcl 2018): the decoder fills R·|x| positions over the upsampled source,
    /// the loss sums over every monotonic alignment of the target to them, and the output is the argmax path with
    /// repeats and blanks collapsed. No length classifier.
    /// </summary>
    Ctc,
}

/// <summary>What the NAR length classifier predicts.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LengthPrediction>))]
public enum LengthPrediction
{
    /// <summary>Absolute target length 0..MaxTargetLength, read from the encoder output at a prepended length token (the paper's code).</summary>
    Absolute,
    /// <summary>Target minus source length, clipped to ±MaxLengthOffset, from the mean-pooled encoder output (fairseq style).</summary>
    Offset,
}

/// <summary>
/// Architecture of an encoder–decoder Transformer. Saved inside every model directory, so loading a model
/// needs no architecture flags. Use <see cref="Preset"/> rather than spelling sizes out.
/// </summary>
public sealed record TransformerConfig
{
    public int VocabSize { get; init; }
    public int ModelDim { get; init; } = 256;
    public int EncoderLayers { get; init; } = 3;
    public int DecoderLayers { get; init; } = 3;
    public int Heads { get; init; } = 4;
    public int FeedForwardDim { get; init; } = 1024;
    public double Dropout { get; init; } = 0.1;
    public double AttentionDropout { get; init; } = 0.1;
    /// <summary>
    /// Layer norm before each sub-layer (trains stably without long warm-up). Always true: model.json has recorded it
    /// since format 1, and a file that says false (post-norm, which NatEm never trained) is rejected.
    /// </summary>
    public bool PreNorm { get; init; } = true;
    public PositionKind Positions { get; init; } = PositionKind.Sinusoidal;
    /// <summary>Longest sequence (in subword tokens, incl. bos/eos) the positions cover.</summary>
    public int MaxPositions { get; init; } = 512;

    /// <summary>NAR only: decoder input construction.</summary>
    public NarDecoderInput DecoderInput { get; init; } = NarDecoderInput.Placeholder;
    /// <summary>NAR only: length classifier kind.</summary>
    public LengthPrediction LengthPrediction { get; init; } = LengthPrediction.Absolute;
    /// <summary>NAR only: largest target length the absolute classifier can predict.</summary>
    public int MaxTargetLength { get; init; } = 256;
    /// <summary>NAR only: offset classifier range ±L.</summary>
    public int MaxLengthOffset { get; init; } = 64;
    /// <summary>NAR only: the training objective; models saved before it existed are <see cref="NarLoss.Length"/>.</summary>
    public NarLoss NarLoss { get; init; } = NarLoss.Length;
    /// <summary>NAR CTC only: decoder positions per source token, R (GLAT+CTC uses 2, Gu &amp; Kong 2021 use 3).</summary>
    public int Upsample { get; init; } = 2;

    public static readonly string[] PresetNames = ["tiny", "small", "base"];

    /// <summary>
    /// tiny: d=64, 2+2 layers, 4 heads, ffn 128 (tests; trains in seconds).
    /// small: d=256, 3+3 layers, 4 heads, ffn 1024. base: d=512, 6+6 layers, 8 heads, ffn 2048.
    /// </summary>
    public static TransformerConfig Preset(string name, int vocabSize) => name switch
    {
        "tiny" => new() { VocabSize = vocabSize, ModelDim = 64, EncoderLayers = 2, DecoderLayers = 2, Heads = 4, FeedForwardDim = 128, Dropout = 0.0, AttentionDropout = 0.0, MaxPositions = 256, MaxTargetLength = 128 },
        "small" => new() { VocabSize = vocabSize },
        "base" => new() { VocabSize = vocabSize, ModelDim = 512, EncoderLayers = 6, DecoderLayers = 6, Heads = 8, FeedForwardDim = 2048 },
        _ => throw new NatEmException($"unknown preset '{name}' (expected one of: {string.Join(", ", PresetNames)})", ExitCodes.Usage),
    };

    /// <summary>
    /// Upper bounds far beyond any NatEm model (the base preset is 512-wide with 6+6 layers), so that a damaged or hostile
    /// model.json is refused before anything is allocated rather than exhausting memory.
    /// </summary>
    public const int MaxVocabSize = 1 << 20, MaxModelDim = 16384, MaxLayers = 128, MaxFeedForwardDim = 65536, MaxLength = 65536;

    public void Validate()
    {
        void Require(bool ok, string problem) { if (!ok) throw new NatEmException($"invalid model config: {problem}", ExitCodes.Usage); }
        Require(VocabSize > Text.SpecialTokens.Count && VocabSize <= MaxVocabSize, $"VocabSize must exceed {Text.SpecialTokens.Count} and be at most {MaxVocabSize}");
        Require(ModelDim > 0 && ModelDim <= MaxModelDim && Heads > 0 && ModelDim % Heads == 0, $"ModelDim must be a positive multiple of Heads, at most {MaxModelDim}");
        Require(EncoderLayers > 0 && DecoderLayers > 0 && EncoderLayers <= MaxLayers && DecoderLayers <= MaxLayers, $"layer counts must be between 1 and {MaxLayers}");
        Require(FeedForwardDim > 0 && FeedForwardDim <= MaxFeedForwardDim, $"FeedForwardDim must be between 1 and {MaxFeedForwardDim}");
        Require(Dropout is >= 0 and < 1 && AttentionDropout is >= 0 and < 1, "dropout must be in [0, 1)");
        Require(MaxPositions > 1 && MaxTargetLength > 0 && MaxLengthOffset > 0, "length limits must be positive");
        Require(MaxPositions <= MaxLength && MaxTargetLength <= MaxLength && MaxLengthOffset <= MaxLength, $"length limits must be at most {MaxLength}");
        Require(PreNorm, "pre_norm false (post-norm layers) is not supported");
        Require(Upsample is >= 1 and <= 8, $"Upsample (--upsample) must be between 1 and 8, not {Upsample}");
    }

    /// <summary>NAR only: classes of the length classifier (absolute lengths 0..MaxTargetLength, or offsets ±MaxLengthOffset).</summary>
    public int LengthClasses => LengthPrediction == LengthPrediction.Absolute ? MaxTargetLength + 1 : 2 * MaxLengthOffset + 1;

    /// <summary>
    /// Parameters (weights and biases) of a model of <paramref name="kind"/> with this architecture: what its weights
    /// file must hold, known before anything is allocated. A test compares it with the built modules.
    /// </summary>
    public long ParameterCount(ModelKind kind)
    {
        long d = ModelDim, f = FeedForwardDim;
        long attention = 4 * (d * d + d), feedForward = 2 * d * f + f + d, layerNorm = 2 * d;
        long encoderLayer = attention + feedForward + 2 * layerNorm;
        long decoderLayer = 2 * attention + feedForward + 3 * layerNorm;
        long count = VocabSize * d + EncoderLayers * encoderLayer + DecoderLayers * decoderLayer + 2 * layerNorm;
        if (HasLengthClassifier(kind))
            count += d * LengthClasses + LengthClasses + (LengthPrediction == LengthPrediction.Absolute ? d : 0);
        return count;
    }

    /// <summary>Tensors in a model's state (each weight matrix, bias and norm vector is one), for the size of a weights file's headers.</summary>
    public int TensorCount(ModelKind kind)
    {
        const int attention = 8, feedForward = 4, layerNorm = 2;
        int count = 1 + EncoderLayers * (attention + feedForward + 2 * layerNorm) + DecoderLayers * (2 * attention + feedForward + 3 * layerNorm) + 2 * layerNorm;
        if (HasLengthClassifier(kind)) count += 2 + (LengthPrediction == LengthPrediction.Absolute ? 1 : 0);
        return count;
    }

    /// <summary>A NAR model trained with the length loss has a length classifier (and token); a CTC model predicts no length.</summary>
    private bool HasLengthClassifier(ModelKind kind) => kind == ModelKind.NonAutoregressive && NarLoss == NarLoss.Length;
}

/// <summary>
/// What a user chooses on top of a preset (`--preset`, `--dropout`, `--decoder-input`, `--length-prediction`),
/// resolved into a full <see cref="TransformerConfig"/> for either model kind.
/// </summary>
public sealed record ArchitectureOptions
{
    /// <summary>One of <see cref="TransformerConfig.PresetNames"/>.</summary>
    public string Preset { get; init; } = "small";
    /// <summary>Dropout and attention dropout; null = the preset's.</summary>
    public double? Dropout { get; init; }
    /// <summary>NAR only: the paper's placeholder input by default.</summary>
    public NarDecoderInput DecoderInput { get; init; } = NarDecoderInput.Placeholder;
    /// <summary>NAR only: the paper's absolute-length classifier by default.</summary>
    public LengthPrediction LengthPrediction { get; init; } = LengthPrediction.Absolute;
    /// <summary>NAR only: the length classifier's model by default; CTC reads the upsampled source, whatever <see cref="DecoderInput"/> says.</summary>
    public NarLoss NarLoss { get; init; } = NarLoss.Length;
    /// <summary>NAR CTC only: decoder positions per source token.</summary>
    public int Upsample { get; init; } = 2;

    public TransformerConfig Resolve(ModelKind kind, int vocabSize)
    {
        var config = TransformerConfig.Preset(Preset, vocabSize);
        if (Dropout is { } dropout) config = config with { Dropout = dropout, AttentionDropout = dropout };
        if (kind == ModelKind.NonAutoregressive)
            config = config with
            {
                DecoderInput = NarLoss == NarLoss.Ctc ? NarDecoderInput.UniformCopy : DecoderInput,
                LengthPrediction = LengthPrediction, NarLoss = NarLoss, Upsample = Upsample,
            };
        config.Validate();
        return config;
    }

    /// <summary>
    /// The architecture of a run that continues from a trained model (--init-from, an EM warm start): the trained
    /// model's own, with --dropout applied when it is given; the preset and the NAR choices cannot change its weights' shapes.
    /// The one change of kind: a length-classifier NAR continued with --nar-loss ctc becomes a CTC model with --upsample's
    /// grid (GLAT's warm start; its length classifier is left behind, <see cref="ModelStore.LoadWarmStart"/>).
    /// </summary>
    public TransformerConfig ContinueFrom(TransformerConfig trained, ModelKind kind)
    {
        var config = Dropout is { } dropout ? trained with { Dropout = dropout, AttentionDropout = dropout } : trained;
        if (kind == ModelKind.NonAutoregressive && NarLoss == NarLoss.Ctc && trained.NarLoss == NarLoss.Length)
            config = config with { NarLoss = NarLoss.Ctc, Upsample = Upsample, DecoderInput = NarDecoderInput.UniformCopy };
        config.Validate();
        return config;
    }
}
