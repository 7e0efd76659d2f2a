namespace NatEm.Em;

/// <summary>Figures of one EM round (round 0 = q₀ only; the last row is the final NAR model).</summary>
public sealed record RoundReport
{
    public required string Round { get; init; }
    /// <summary>Valid BLEU (greedy) of the AR model that taught this round.</summary>
    public double? ArValidBleu { get; init; }
    /// <summary>Valid BLEU of the NAR model's raw tokens (<see cref="Decoding.Generation.RawTokens"/>): a length model's
    /// argmax before de-duplication; a CTC model's argmax path collapsed, its output, so equal to <see cref="NarValidBleuOdd"/>.</summary>
    public double? NarValidBleuArgmax { get; init; }
    /// <summary>Valid BLEU of the NAR model's output: a length model's with ODD; a CTC model's argmax path collapsed.</summary>
    public double? NarValidBleuOdd { get; init; }
    /// <summary>Fraction of the NAR model's raw tokens equal to their predecessor (valid split; <see cref="Decoding.OutputStatistics"/>):
    /// a length model's argmax before de-duplication; a CTC model's output after collapse.</summary>
    public double? RepetitionRate { get; init; }
    /// <summary>Fraction of valid sentences decoded at the reference length: a length model's predicted length; a CTC model's output length.</summary>
    public double? LengthAccuracy { get; init; }
    /// <summary>NAR per-token NLL (incl. the length term) on a sample of its own training targets.</summary>
    public double? NarTrainNll { get; init; }
    /// <summary>Mean NAR log-likelihood per token of the targets selected for Dₖ.</summary>
    public double? SelectedLogLikelihood { get; init; }
    /// <summary>What each selection criterion chose from this round's candidates (the one used is marked).</summary>
    public IReadOnlyList<SelectionStatistics> Selection { get; init; } = [];
    /// <summary>Fraction of sources whose target in Dₖ differs from Dₖ₋₁ (D₀ = real data).</summary>
    public double? ChangedFraction { get; init; }
    /// <summary>Unigram entropy (bits) of the target tokens of the data this round's NAR model was trained on.</summary>
    public double? TargetEntropy { get; init; }
    /// <summary>Seconds per stage (distill, nar, nbest, select, ar, eval).</summary>
    public Dictionary<string, double> StageSeconds { get; init; } = [];
}

public sealed record EmReport(IReadOnlyList<RoundReport> Rounds, string FinalModel, string FinalTeacher);

/// <summary>Corpus statistics used by the EM report.</summary>
public static class CorpusStatistics
{
    public static double UnigramEntropyBits(IEnumerable<int[]> sentences)
    {
        var counts = new Dictionary<int, long>();
        long total = 0;
        foreach (var sentence in sentences)
            foreach (var id in sentence)
            {
                counts[id] = counts.GetValueOrDefault(id) + 1;
                total++;
            }
        return total == 0 ? 0 : -counts.Values.Sum(c => (double)c / total * Math.Log2((double)c / total));
    }

    public static double ChangedFraction(IReadOnlyList<int[]> previous, IReadOnlyList<int[]> current) =>
        previous.Count == 0 ? 0 : (double)previous.Zip(current).Count(p => !p.First.AsSpan().SequenceEqual(p.Second)) / previous.Count;
}
