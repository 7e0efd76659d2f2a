using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// A model's training loss for one batch as named terms, the way fairseq's NAT models return
/// <c>{"word_ins": …, "length": …}</c> to one generic criterion (<c>fairseq/criterions/nat_loss.py</c>): the model
/// says what it predicts, the criterion (Training) says how terms are smoothed, weighted, normalized and summed.
/// </summary>
/// <param name="Tokens">The token term ("word_ins").</param>
/// <param name="Length">The length classifier's term, or null for a model that predicts no length (CTC).</param>
public sealed record LossTerms(TokenLossTerm Tokens, LengthLossTerm? Length = null);

/// <summary>The token term; <see cref="Tokens"/> is the number of target tokens it trains (its normalizer).</summary>
public abstract record TokenLossTerm(long Tokens);

/// <summary>Per-position cross entropy of <paramref name="Logits"/> [B, T, V] against <paramref name="Target"/> [B, T] where <paramref name="Mask"/> is true (label smoothing applies).</summary>
public sealed record CrossEntropyTerm(Tensor Logits, Tensor Target, Tensor Mask, long Tokens) : TokenLossTerm(Tokens);

/// <summary>−log p(y | x) per sentence [B] that the model computed itself (CTC: summed over all alignments; label smoothing does not apply).</summary>
public sealed record SequenceNllTerm(Tensor Nll, long Tokens) : TokenLossTerm(Tokens);

/// <summary>The length classifier's logits [B, classes] and the true classes [B].</summary>
public sealed record LengthLossTerm(Tensor Logits, Tensor Classes);

/// <summary>
/// What glancing compares, per decoder position [B, T]: the first pass's prediction, the reference token a
/// revealed position reads instead of its own input, and which positions are real (not padding).
/// </summary>
public sealed record GlancingReference(Tensor Predicted, Tensor Reference, Tensor Mask);

/// <summary>One batch's training forward, its sources encoded once (so that a glancing criterion's two passes share the encoder).</summary>
public interface ITrainingPass
{
    /// <summary>Whether <see cref="FirstPass"/> applies (NAR models; an AR model has no parallel first pass).</summary>
    bool CanGlance { get; }

    /// <summary>The first decoder pass from the model's own inputs; the caller runs it without gradients.</summary>
    GlancingReference FirstPass();

    /// <summary>
    /// The loss terms of the (second) pass. Positions where <paramref name="revealed"/> [B, T] is true read the
    /// embedding of the last <see cref="FirstPass"/>'s reference token instead of their own input.
    /// </summary>
    LossTerms Losses(Tensor? revealed = null);
}
