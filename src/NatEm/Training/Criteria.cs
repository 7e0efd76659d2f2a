using NatEm.Modeling;
using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>Statistics of one batch, summed (not averaged) so that they add up across batches.</summary>
/// <remarks><see cref="Tokens"/> counts the trained target tokens; <see cref="Revealed"/> those that glancing showed instead.</remarks>
public sealed record BatchStatistics(double LossSum, double NllSum, long Tokens, long Sentences, double LengthLossSum = 0, long LengthCorrect = 0, long Revealed = 0)
{
    public static readonly BatchStatistics Zero = new(0, 0, 0, 0);

    public static BatchStatistics operator +(BatchStatistics a, BatchStatistics b) => new(
        a.LossSum + b.LossSum, a.NllSum + b.NllSum, a.Tokens + b.Tokens, a.Sentences + b.Sentences,
        a.LengthLossSum + b.LengthLossSum, a.LengthCorrect + b.LengthCorrect, a.Revealed + b.Revealed);

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
}

public sealed class ArCriterion(double labelSmoothing) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int? update = null)
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

/// <summary>
/// NAR objective: per-token label-smoothed cross entropy at the true length, plus a weighted length loss. With a
/// glancing schedule, training updates use GLAT's glancing sampling (see <see cref="Glance"/>); evaluation does not.
/// </summary>
public sealed class NarCriterion(double labelSmoothing, double lengthLossWeight, GlancingSchedule? glancing = null) : ICriterion
{
    public (Tensor Loss, BatchStatistics Statistics) Forward(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int? update = null)
    {
        var nar = (NarTransformer)model;
        var source = SequenceTensors.Source(sources);
        var target = SequenceTensors.Pad(targets);
        var lengths = SequenceTensors.Lengths(targets);
        var (memory, lengthLogits) = nar.Encode(source);
        var mask = SequenceTensors.LengthMask(lengths, target.shape[1]);
        var inputs = nar.DecoderInputs(source, lengths);
        var (tokenLogits, revealed) = glancing is not null && update is { } u
            ? Glance(nar, memory, inputs, target, lengths, mask, glancing.RatioAt(u))
            : (nar.DecodeInputs(memory, inputs, lengths), null);
        var trained = revealed is null ? mask : mask.logical_and(revealed.logical_not());
        var (tokenLoss, nll) = Criteria.LabelSmoothedCrossEntropy(tokenLogits, target, trained, labelSmoothing);

        var lengthClasses = nar.LengthToClass(lengths, source);
        var lengthLoss = nn.functional.cross_entropy(lengthLogits, lengthClasses, reduction: nn.Reduction.Sum);
        long lengthCorrect = lengthLogits.argmax(-1).eq(lengthClasses).sum().item<long>();

        long revealedCount = revealed?.sum().item<long>() ?? 0;
        long tokens = Math.Max(1, targets.Sum(t => (long)t.Length) - revealedCount);
        var loss = tokenLoss / tokens + lengthLossWeight * lengthLoss / targets.Count;
        var stats = new BatchStatistics(tokenLoss.item<float>(), nll.item<float>(), tokens, targets.Count, lengthLoss.item<float>(), lengthCorrect, revealedCount);
        return (loss, stats);
    }

    /// <summary>
    /// Glancing sampling (GLAT): a first decoder pass without gradients from the model's own inputs; in each sentence,
    /// ⌈ratio × its Hamming distance to the target⌉ random positions then read the target token's embedding (the
    /// shared table, as GLAT's decoder does) instead, and the second pass, returned with those positions, is trained
    /// on the others only. Both passes draw the same dropout masks, as in GLAT's code.
    /// </summary>
    private static (Tensor TokenLogits, Tensor Revealed) Glance(NarTransformer nar, EncoderOutput memory, Tensor inputs, Tensor target, Tensor lengths, Tensor mask, double ratio)
    {
        long dropoutSeed = randint(int.MaxValue, [1]).item<long>();
        Tensor revealed;
        using (no_grad())
        {
            manual_seed(dropoutSeed);
            var predicted = nar.DecodeInputs(memory, inputs, lengths).argmax(-1);
            var distances = predicted.ne(target).logical_and(mask).sum(1);
            revealed = GlancingSampler.SamplePositions(GlancingSampler.RevealCounts(distances, ratio), mask);
        }
        var glanced = where(revealed.unsqueeze(-1), nar.EmbedTokens(target), inputs);
        manual_seed(dropoutSeed);
        return (nar.DecodeInputs(memory, glanced, lengths), revealed);
    }
}
