using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// The length model's training pass: tokens at the true length ("word_ins", the revealed positions left out) and
/// the length classifier ("length"). Glancing compares the first pass's argmax with the target, position by position.
/// </summary>
internal sealed class LengthTrainingPass : ITrainingPass
{
    private readonly NarTransformer model;
    private readonly Tensor source, target, lengths, mask, inputs, lengthLogits;
    private readonly EncoderOutput memory;
    private readonly long targetTokens;

    public LengthTrainingPass(NarTransformer model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets)
    {
        this.model = model;
        source = SequenceTensors.Source(sources);
        target = SequenceTensors.Pad(targets);
        lengths = SequenceTensors.Lengths(targets);
        (memory, lengthLogits) = model.Encode(source);
        mask = SequenceTensors.LengthMask(lengths, target.shape[1]);
        inputs = model.DecoderInputs(source, lengths);
        targetTokens = targets.Sum(t => (long)t.Length);
    }

    public bool CanGlance => true;

    public GlancingReference FirstPass() => new(model.DecodeInputs(memory, inputs, lengths).argmax(-1), target, mask);

    public LossTerms Losses(Tensor? revealed = null)
    {
        var decoderInputs = revealed is null ? inputs : where(revealed.unsqueeze(-1), model.EmbedTokens(target), inputs);
        var trained = revealed is null ? mask : mask.logical_and(revealed.logical_not());
        long revealedCount = revealed?.sum().item<long>() ?? 0;
        var tokens = new CrossEntropyTerm(model.DecodeInputs(memory, decoderInputs, lengths), target, trained, Math.Max(1, targetTokens - revealedCount));
        return new LossTerms(tokens, new LengthLossTerm(lengthLogits, model.LengthToClass(lengths, source)));
    }
}

/// <summary>
/// The CTC model's training pass: −log p(y | x) summed over every alignment of the target to the R·|x| positions
/// ("word_ins" only). Glancing compares the first pass's argmax with the target's best (Viterbi) alignment to that
/// pass, blanks included, and a revealed position reads the aligned token (or the blank's, <c>&lt;unk&gt;</c>'s, embedding).
/// </summary>
internal sealed class CtcTrainingPass : ITrainingPass
{
    private readonly NarTransformer model;
    private readonly IReadOnlyList<int[]> targets;
    private readonly Tensor target, targetLengths, gridLengths, inputs;
    private readonly EncoderOutput memory;
    private Tensor? reference;

    public CtcTrainingPass(NarTransformer model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets)
    {
        this.model = model;
        targets = targets.Select(Ctc.Labels).ToList();
        this.targets = targets;
        var source = SequenceTensors.Source(sources);
        target = SequenceTensors.Pad(targets);
        targetLengths = SequenceTensors.Lengths(targets);
        memory = model.EncodeSource(source);
        gridLengths = model.GridLengths(source);
        inputs = model.DecoderInputs(source, gridLengths);
    }

    public bool CanGlance => true;

    public GlancingReference FirstPass()
    {
        var logProbs = model.DecodeInputs(memory, inputs, gridLengths).to_type(ScalarType.Float32).log_softmax(-1);
        var predicted = logProbs.argmax(-1);
        reference = Ctc.AlignedReference(logProbs, targets, gridLengths, predicted);
        return new GlancingReference(predicted, reference, SequenceTensors.LengthMask(gridLengths, logProbs.shape[1]));
    }

    public LossTerms Losses(Tensor? revealed = null)
    {
        var decoderInputs = revealed is null ? inputs
            : where(revealed.unsqueeze(-1), model.EmbedTokens(reference ?? throw new InvalidOperationException("Losses(revealed) needs a FirstPass first")), inputs);
        var logProbs = model.DecodeInputs(memory, decoderInputs, gridLengths).to_type(ScalarType.Float32).log_softmax(-1);
        // A target no alignment reaches (longer than R·|x| with its repeats) adds nothing rather than ∞ (fairseq's zero_infinity).
        var nll = Ctc.Loss(logProbs, target, gridLengths, targetLengths, zeroInfinity: true);
        return new LossTerms(new SequenceNllTerm(nll, Math.Max(1, targets.Sum(t => (long)t.Length))));
    }
}
