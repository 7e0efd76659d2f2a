using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Autoregressive encoder–decoder Transformer (fairseq's `transformer`): joint vocabulary with one embedding
/// matrix shared by encoder, decoder and output projection.
/// </summary>
public sealed class ArTransformer : nn.Module, ITranslationModel
{
    private readonly Embeddings embeddings;
    private readonly TransformerEncoder encoder;
    private readonly TransformerDecoder decoder;
    private readonly MixedPrecision precision = new();

    public ArTransformer(TransformerConfig config) : base("ar_transformer")
    {
        config.Validate();
        Config = config;
        embeddings = new Embeddings("embeddings", config, precision);
        encoder = new TransformerEncoder("encoder", config, precision);
        decoder = new TransformerDecoder("decoder", config, precision);
        RegisterComponents();
    }

    public TransformerConfig Config { get; }
    public Precision Precision { get => precision.Precision; set => precision.Precision = value; }
    public void FreezeForInference(Precision precision) => this.precision.FreezeForInference(precision);
    public ModelKind Kind => ModelKind.Autoregressive;
    public nn.Module Module => this;

    /// <summary>Encodes a [B, S] source tensor (tokens + eos, padded).</summary>
    public EncoderOutput Encode(Tensor source) => encoder.Forward(embeddings.Forward(source), source.ne(SpecialTokens.Pad));

    /// <summary>Teacher-forced logits [B, T, V] for decoder input [B, T] (bos + target, padded).</summary>
    public Tensor Forward(Tensor source, Tensor targetInput) => DecodeAll(targetInput, Encode(source));

    public Tensor DecodeAll(Tensor targetInput, EncoderOutput memory)
    {
        long length = targetInput.shape[1];
        var causal = ones(length, length, dtype: ScalarType.Bool).tril().unsqueeze(0).unsqueeze(0);
        return OutputLogits(decoder.Forward(embeddings.Forward(targetInput), causal, memory));
    }

    /// <summary>A cache for up to <paramref name="maxSteps"/> decoding steps, with their position embeddings computed once.</summary>
    public DecoderState StartDecoding(EncoderOutput memory, int maxSteps) => decoder.StartState(memory, embeddings.Positions(0, maxSteps));

    /// <summary>Log-probabilities [B, V] of the next token given the previous tokens [B] and the cache.</summary>
    public Tensor DecodeStep(Tensor previousTokens, DecoderState state)
    {
        var embedded = embeddings.EmbedTokens(previousTokens.unsqueeze(1)) + state.Positions.narrow(0, state.Steps, 1);
        var hidden = decoder.Step(embedded, state);
        return OutputLogits(hidden).squeeze(1).log_softmax(-1);
    }

    public ITrainingPass BeginTraining(IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets) => new TeacherForcedPass(this, sources, targets);

    private Tensor OutputLogits(Tensor hidden) => embeddings.OutputLogits(hidden);
}

/// <summary>The AR training pass: teacher forcing, every target token and eos trained ("word_ins" only; no glancing).</summary>
internal sealed class TeacherForcedPass(ArTransformer model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets) : ITrainingPass
{
    public bool CanGlance => false;

    public GlancingReference FirstPass() => throw new NotSupportedException("an autoregressive model has no parallel first pass to glance at");

    public LossTerms Losses(Tensor? revealed = null)
    {
        if (revealed is not null) throw new NotSupportedException("an autoregressive model cannot reveal target tokens");
        var source = SequenceTensors.Source(sources);
        var targetInput = SequenceTensors.Pad(targets, prependBos: true);
        var targetOutput = SequenceTensors.Pad(targets, appendEos: true);
        return new LossTerms(new CrossEntropyTerm(model.Forward(source, targetInput), targetOutput,
            targetOutput.ne(SpecialTokens.Pad), targets.Sum(t => t.Length + 1L)));
    }
}
