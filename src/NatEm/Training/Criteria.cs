using NatEm.Modeling;
using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>Statistics of one batch, summed (not averaged) so that they add up across batches.</summary>
/// <remarks>
/// <see cref="Tokens"/> counts the trained target tokens; <see cref="Revealed"/> the decoder positions that glancing
/// showed instead; <see cref="LengthSentences"/> the sentences of batches whose model has a length term (none under CTC).
/// </remarks>
public sealed record BatchStatistics(double LossSum, double NllSum, long Tokens, long Sentences, double LengthLossSum = 0, long LengthCorrect = 0, long Revealed = 0,
    long LengthSentences = 0)
{
    public static readonly BatchStatistics Zero = new(0, 0, 0, 0);

    public static BatchStatistics operator +(BatchStatistics a, BatchStatistics b) => new(
        a.LossSum + b.LossSum, a.NllSum + b.NllSum, a.Tokens + b.Tokens, a.Sentences + b.Sentences,
        a.LengthLossSum + b.LengthLossSum, a.LengthCorrect + b.LengthCorrect, a.Revealed + b.Revealed, a.LengthSentences + b.LengthSentences);

    /// <summary>Whether the batches had a length term to report.</summary>
    public bool HasLengthTerm => LengthSentences > 0;

    public double Loss => LossSum / Math.Max(1, Tokens);
    public double Nll => NllSum / Math.Max(1, Tokens);
    public double Perplexity => Math.Exp(Math.Min(Nll, 50));
    public double LengthLoss => LengthLossSum / Math.Max(1, Sentences);
    public double LengthAccuracy => (double)LengthCorrect / Math.Max(1, Sentences);
    public double RevealedFraction => (double)Revealed / Math.Max(1, Tokens + Revealed);
}

/// <summary>A training objective (fairseq's "criterion"): the loss to minimize for a batch of pairs.</summary>
public interface ICriterion
{
    /// <summary>
    /// The scalar loss to back-propagate (already normalized) and the batch statistics. <paramref name="update"/> is
    /// the optimizer update being computed; null when evaluating, which turns training-only behaviour (glancing) off.
    /// </summary>
    (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int? update = null);
}

public static class Criteria
{
    /// <summary>The criterion of a training run: one generic sum of the model's named loss terms (AR and NAR alike).</summary>
    public static ICriterion For(ITranslationModel model, TrainingOptions options) => model.Kind switch
    {
        ModelKind.Autoregressive => options.Glancing is null
            ? new ArCriterion(options.LabelSmoothing)
            : throw new NatEmException("invalid training option: --glancing trains NAR models only", ExitCodes.Usage),
        _ => new NarCriterion(options.LabelSmoothing, options.LengthLossWeight, options.Glancing),
    };

    /// <summary>
    /// Label-smoothed cross entropy summed over positions where <paramref name="mask"/> is true, and the plain
    /// NLL sum (fairseq's label_smoothed_cross_entropy: (1-ε)·nll + ε/V·Σ_v −log p_v).
    /// </summary>
    public static (Tensor Loss, Tensor Nll) LabelSmoothedCrossEntropy(Tensor logits, Tensor target, Tensor mask, double epsilon)
    {
        var logProbs = logits.log_softmax(-1);
        var nll = -logProbs.gather(-1, target.unsqueeze(-1)).squeeze(-1);
        var smooth = -logProbs.sum(-1);
        var maskF = mask.to_type(logProbs.dtype);
        var nllSum = (nll * maskF).sum();
        var loss = (1 - epsilon) * nllSum + epsilon / logits.shape[^1] * (smooth * maskF).sum();
        return (loss, nllSum);
    }

    /// <summary>
    /// The generic criterion (fairseq's nat_loss): the token term normalized per trained token, plus
    /// <paramref name="lengthLossWeight"/> × the length term per sentence when the model has one.
    /// </summary>
    public static (Tensor Loss, BatchStatistics Statistics) Sum(LossTerms terms, int sentences, double labelSmoothing, double lengthLossWeight, long revealed = 0)
    {
        var (tokenLoss, nll) = terms.Tokens switch
        {
            CrossEntropyTerm ce => LabelSmoothedCrossEntropy(ce.Logits, ce.Target, ce.Mask, labelSmoothing),
            SequenceNllTerm sequence => (sequence.Nll.sum(), sequence.Nll.sum()),
            var other => throw new NotSupportedException(other.GetType().Name),
        };
        long tokens = terms.Tokens.Tokens;
        if (terms.Length is not { } length)
            return (tokenLoss / tokens, new BatchStatistics(tokenLoss.item<float>(), nll.item<float>(), tokens, sentences, Revealed: revealed));
        var lengthLoss = nn.functional.cross_entropy(length.Logits, length.Classes, reduction: nn.Reduction.Sum);
        long lengthCorrect = length.Logits.argmax(-1).eq(length.Classes).sum().item<long>();
        var loss = tokenLoss / tokens + lengthLossWeight * lengthLoss / sentences;
        return (loss, new BatchStatistics(tokenLoss.item<float>(), nll.item<float>(), tokens, sentences, lengthLoss.item<float>(), lengthCorrect, revealed, sentences));
    }
}

/// <summary>AR objective: label-smoothed cross entropy of every target token and eos, teacher-forced.</summary>
public sealed class ArCriterion(double labelSmoothing) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int? update = null) =>
        Criteria.Sum(model.BeginTraining(sources, targets).Losses(), targets.Count, labelSmoothing, lengthLossWeight: 0);
}

/// <summary>
/// NAR objective: the model's own loss terms (the length model's tokens at the true length and its weighted length
/// loss; the CTC model's sequence loss). With a glancing schedule, training updates use GLAT's glancing sampling
/// (see <see cref="Glance"/>); evaluation does not.
/// </summary>
public sealed class NarCriterion(double labelSmoothing, double lengthLossWeight, GlancingSchedule? glancing = null) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int? update = null)
    {
        var pass = model.BeginTraining(sources, targets);
        if (glancing is null || update is not { } u || !pass.CanGlance)
            return Criteria.Sum(pass.Losses(), targets.Count, labelSmoothing, lengthLossWeight);
        var revealed = Glance(pass, glancing.RatioAt(u));
        return Criteria.Sum(pass.Losses(revealed), targets.Count, labelSmoothing, lengthLossWeight, revealed.sum().item<long>());
    }

    /// <summary>
    /// Glancing sampling (GLAT): a first decoder pass without gradients from the model's own inputs; in each sentence,
    /// ⌈ratio × its Hamming distance to the model's reference⌉ random positions then read the reference token's
    /// embedding (the shared table, as GLAT's decoder does) instead, and the second pass (returned by the model's
    /// <see cref="ITrainingPass.Losses"/>) is trained with those positions. Both passes draw the same dropout masks,
    /// as in GLAT's code: the dropout seed is drawn here and set again before the caller's second pass.
    /// </summary>
    private static Tensor Glance(ITrainingPass pass, double ratio)
    {
        long dropoutSeed = randint(int.MaxValue, [1]).item<long>();
        Tensor revealed;
        using (no_grad())
        {
            manual_seed(dropoutSeed);
            var first = pass.FirstPass();
            var distances = first.Predicted.ne(first.Reference).logical_and(first.Mask).sum(1);
            revealed = GlancingSampler.SamplePositions(GlancingSampler.RevealCounts(distances, ratio), first.Mask);
        }
        manual_seed(dropoutSeed);
        return revealed;
    }
}
