using NatEm.Data;
using NatEm.Modeling;
using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Decoding;

/// <summary>
/// Log-likelihoods of given (source, target) pairs under a model, batched by padded token count. The EM
/// selection step calls the NAR scorer on every N-best candidate; AR re-scoring calls the AR scorer.
/// </summary>
public static class SequenceScoring
{
    /// <summary>AR: log p(y, eos | x) with teacher forcing, one value per pair.</summary>
    public static double[] ArLogLikelihood(ArTransformer model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int maxTokens = 8192) =>
        ScoreInBatches(model, sources, targets, maxTokens, (batchSources, batchTargets) =>
        {
            var targetOutput = SequenceTensors.Pad(batchTargets, appendEos: true);
            var logits = model.Forward(SequenceTensors.Source(batchSources), SequenceTensors.Pad(batchTargets, prependBos: true));
            return TokenLogProbSum(logits, targetOutput, targetOutput.ne(SpecialTokens.Pad));
        });

    /// <summary>
    /// NAR: the model's log p(y | x) (<see cref="NarTransformer.LogLikelihood"/>), the score the EM selection step
    /// maximizes: length plus tokens for a length model, the CTC sum over alignments (−∞ when none exists) for a CTC model.
    /// </summary>
    public static double[] NarLogLikelihood(NarTransformer model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int maxTokens = 8192) =>
        ScoreInBatches(model, sources, targets, maxTokens, (batchSources, batchTargets) => model.LogLikelihood(SequenceTensors.Source(batchSources), batchTargets));

    /// <summary>Σ over masked positions of log p(target) per row, [B].</summary>
    public static Tensor TokenLogProbSum(Tensor logits, Tensor target, Tensor mask) =>
        (logits.log_softmax(-1).gather(-1, target.unsqueeze(-1)).squeeze(-1) * mask.to_type(ScalarType.Float32)).sum(1);

    private static double[] ScoreInBatches(ITranslationModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int maxTokens,
        Func<IReadOnlyList<int[]>, IReadOnlyList<int[]>, Tensor> scoreBatch)
    {
        if (sources.Count != targets.Count) throw new ArgumentException("sources and targets differ in count");
        var scores = new double[sources.Count];
        model.Module.eval();
        using var _ = torch.inference_mode();
        var batches = TokenBatcher.Batches(sources.Select(s => s.Length + 1).ToList(), targets.Select(t => t.Length).ToList(), maxTokens, null);
        foreach (var batch in batches)
        {
            using var scope = torch.NewDisposeScope();
            var values = scoreBatch(batch.Select(i => sources[i]).ToList(), batch.Select(i => targets[i]).ToList()).data<float>().ToArray();
            for (int j = 0; j < batch.Length; j++) scores[batch[j]] = values[j];
        }
        return scores;
    }
}
