namespace NatEm.Decoding;

/// <summary>
/// Corpus-level diagnostics of NAR outputs, reported beside BLEU, computed from what the generators give
/// (<see cref="Generation.RawTokens"/>, <see cref="Generation.PredictedLength"/>).
/// For a length model: repetition in the raw argmax before de-duplication, and the length its classifier predicted.
/// For a CTC model: repetition in the output after collapse, and that output's length.
/// </summary>
public static class OutputStatistics
{
    /// <summary>
    /// The fraction of adjacent token pairs whose two tokens are equal, pooled over all outputs: the
    /// token-repetition rate NAR models are known for. Outputs of length 0 or 1 contribute no pairs;
    /// 0 when there are no pairs at all.
    /// </summary>
    public static double RepetitionRate(IEnumerable<int[]> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        long pairs = 0, repeats = 0;
        foreach (var output in outputs)
        {
            for (int t = 1; t < output.Length; t++)
                if (output[t] == output[t - 1]) repeats++;
            pairs += Math.Max(0, output.Length - 1);
        }
        return pairs == 0 ? 0 : (double)repeats / pairs;
    }

    /// <summary>
    /// The fraction of sentences whose decoded length equals the reference length (how often a length model's
    /// predictor, or a CTC model's output, has exactly the reference's length); 0 for no sentences.
    /// </summary>
    /// <exception cref="ArgumentException">The two lists have different sizes.</exception>
    public static double LengthAccuracy(IReadOnlyList<int> predicted, IReadOnlyList<int> reference)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(reference);
        if (predicted.Count != reference.Count)
            throw new ArgumentException($"{predicted.Count} predicted lengths but {reference.Count} reference lengths");
        if (predicted.Count == 0) return 0;
        int exact = 0;
        for (int i = 0; i < predicted.Count; i++)
            if (predicted[i] == reference[i]) exact++;
        return (double)exact / predicted.Count;
    }
}
