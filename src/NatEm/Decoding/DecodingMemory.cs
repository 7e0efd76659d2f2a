using System.Globalization;
using NatEm.Modeling;

namespace NatEm.Decoding;

/// <summary>
/// Rough upper estimates of the memory one decoding batch needs, so that search widths, lengths and batch sizes
/// can be bounded before a run grows until the kernel kills it. The estimates count the float32 tensors that grow
/// with the options; weights and framework overhead come on top.
/// </summary>
public static class DecodingMemory
{
    /// <summary>Half the memory available to the process (physical memory, or the container's limit).</summary>
    public static long DefaultBudgetBytes { get; } = Math.Max(1L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);

    /// <summary>
    /// AR beam search: for each of sentences × beam hypotheses, the self- and cross-attention key/value caches of
    /// every decoder layer and three vocabulary-sized rows (logits, log-probabilities, candidate scores); for each
    /// sentence, the encoder's activations.
    /// </summary>
    public static long BeamSearchBytes(TransformerConfig c, int sentences, int beam, int sourceLength, int outputLength)
    {
        long hypotheses = (long)sentences * beam;
        long perHypothesis = 2L * c.DecoderLayers * (outputLength + sourceLength) * c.ModelDim + 3L * c.VocabSize;
        return 4 * (hypotheses * perHypothesis + sentences * EncoderFloats(c, sourceLength));
    }

    /// <summary>
    /// NAR decoding: for each of sentences × lengthBeam candidates and each target position, the logits and
    /// log-probabilities over the vocabulary, the decoder's activations and an attention row; plus the encoder.
    /// </summary>
    public static long NarBytes(TransformerConfig c, int sentences, int lengthBeam, int sourceLength, int targetLength)
    {
        long candidates = (long)sentences * lengthBeam;
        long perPosition = 2L * c.VocabSize + 4L * c.ModelDim + c.FeedForwardDim + (long)c.Heads * (sourceLength + targetLength);
        return 4 * (candidates * targetLength * perPosition + sentences * EncoderFloats(c, sourceLength));
    }

    private static long EncoderFloats(TransformerConfig c, int sourceLength) =>
        (long)sourceLength * (4L * c.ModelDim + c.FeedForwardDim + (long)c.Heads * sourceLength);

    /// <summary>The largest value in 1..<paramref name="upTo"/> whose estimate fits the budget (0 if none); estimates grow with the value.</summary>
    public static int LargestFitting(Func<int, long> bytes, int upTo, long budget)
    {
        int low = 0, high = upTo;
        while (low < high)
        {
            int middle = low + (high - low + 1) / 2;
            if (bytes(middle) <= budget) low = middle;
            else high = middle - 1;
        }
        return low;
    }

    /// <summary>A usage error unless <paramref name="bytes"/>(<paramref name="value"/>) fits the budget; it states the estimate, the limit and the largest value that fits.</summary>
    public static void Require(string option, int value, Func<int, long> bytes, long budget, string situation)
    {
        long needed = bytes(value);
        if (needed <= budget) return;
        int largest = LargestFitting(bytes, value, budget);
        throw new NatEmException(
            $"{option} {value} needs about {Format(needed)} of memory {situation}, more than the decoding memory limit of {Format(budget)}; "
            + (largest > 0 ? $"the largest {option} that fits is {largest}" : "no value fits"),
            ExitCodes.Usage);
    }

    public static string Format(long bytes) =>
        bytes >= 1L << 30 ? (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB"
        : bytes >= 1L << 20 ? (bytes / (double)(1L << 20)).ToString("F0", CultureInfo.InvariantCulture) + " MiB"
        : (bytes / 1024.0).ToString("F0", CultureInfo.InvariantCulture) + " KiB";
}
