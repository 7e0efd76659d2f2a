using NatEm.Modeling;
using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>Statistics of one batch, summed (not averaged) so that they add up across batches.</summary>
public sealed record BatchStatistics(double LossSum, double NllSum, long Tokens, long Sentences, double LengthLossSum = 0, long LengthCorrect = 0)
{
    public static readonly BatchStatistics Zero = new(0, 0, 0, 0);

    public static BatchStatistics operator +(BatchStatistics a, BatchStatistics b) => new(
        a.LossSum + b.LossSum, a.NllSum + b.NllSum, a.Tokens + b.Tokens, a.Sentences + b.Sentences,
        a.LengthLossSum + b.LengthLossSum, a.LengthCorrect + b.LengthCorrect);

    public double Loss => LossSum / Math.Max(1, Tokens);
    public double Nll => NllSum / Math.Max(1, Tokens);
    public double Perplexity => Math.Exp(Math.Min(Nll, 50));
    public double LengthLoss => LengthLossSum / Math.Max(1, Sentences);
    public double LengthAccuracy => (double)LengthCorrect / Math.Max(1, Sentences);
}

/// <summary>A training objective (fairseq's "criterion"): the loss to minimize for a batch of pairs.</summary>
public interface ICriterion
{
    /// <summary>The scalar loss to back-propagate (already normalized) and the batch statistics.</summary>
    (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets);
}

public static class Criteria
{
    public static ICriterion For(ITranslationModel model, double labelSmoothing, double lengthLossWeight) => model.Kind switch
    {
        ModelKind.Autoregressive => new ArCriterion(labelSmoothing),
        _ => new NarCriterion(labelSmoothing, lengthLossWeight),
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
}

public sealed class ArCriterion(double labelSmoothing) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets)
    {
        var ar = (ArTransformer)model;
        var source = SequenceTensors.Source(sources);
        var targetInput = SequenceTensors.Pad(targets, prependBos: true);
        var targetOutput = SequenceTensors.Pad(targets, appendEos: true);
        var mask = targetOutput.ne(SpecialTokens.Pad);
        var (loss, nll) = Criteria.LabelSmoothedCrossEntropy(ar.Forward(source, targetInput), targetOutput, mask, labelSmoothing);
        long tokens = targets.Sum(t => t.Length + 1L);
        var stats = new BatchStatistics(loss.item<float>(), nll.item<float>(), tokens, targets.Count);
        return (loss / tokens, stats);
    }
}

/// <summary>NAR objective: per-token label-smoothed cross entropy at the true length, plus a weighted length loss.</summary>
public sealed class NarCriterion(double labelSmoothing, double lengthLossWeight) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets)
    {
        var nar = (NarTransformer)model;
        var source = SequenceTensors.Source(sources);
        var target = SequenceTensors.Pad(targets);
        var lengths = SequenceTensors.Lengths(targets);
        var (tokenLogits, lengthLogits) = nar.Forward(source, lengths);
        var mask = SequenceTensors.LengthMask(lengths, target.shape[1]);
        var (tokenLoss, nll) = Criteria.LabelSmoothedCrossEntropy(tokenLogits.narrow(1, 0, target.shape[1]), target, mask, labelSmoothing);

        var lengthClasses = nar.LengthToClass(lengths, source);
        var lengthLoss = nn.functional.cross_entropy(lengthLogits, lengthClasses, reduction: nn.Reduction.Sum);
        long lengthCorrect = lengthLogits.argmax(-1).eq(lengthClasses).sum().item<long>();

        long tokens = Math.Max(1, targets.Sum(t => (long)t.Length));
        var loss = tokenLoss / tokens + lengthLossWeight * lengthLoss / targets.Count;
        var stats = new BatchStatistics(tokenLoss.item<float>(), nll.item<float>(), tokens, targets.Count, lengthLoss.item<float>(), lengthCorrect);
        return (loss, stats);
    }
}
