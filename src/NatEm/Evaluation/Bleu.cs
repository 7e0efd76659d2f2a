namespace NatEm.Evaluation;

/// <summary>BLEU smoothing methods (Chen and Cherry, 2014), as named by sacreBLEU.</summary>
public enum BleuSmoothing
{
    /// <summary>"exp": NIST geometric decay for n-gram orders without matches (mteval-v13a); the default.</summary>
    Exp,
    /// <summary>"floor": zero match counts are replaced by the smoothing value (default 0.1).</summary>
    Floor,
    /// <summary>"add-k": the smoothing value (default 1) is added to matches and totals of orders 2 and up.</summary>
    AddK,
    /// <summary>"none".</summary>
    None,
}

/// <summary>Settings of <see cref="Bleu"/>; the defaults are sacreBLEU's corpus-level defaults.</summary>
public sealed record BleuOptions
{
    public BleuTokenizer Tokenizer { get; init; } = BleuTokenizer.Default;
    public bool Lowercase { get; init; }
    public BleuSmoothing Smoothing { get; init; } = BleuSmoothing.Exp;
    /// <summary>The value for floor and add-k smoothing; null means sacreBLEU's default (0.1 and 1).</summary>
    public double? SmoothValue { get; init; }
    /// <summary>
    /// Average only over the n-gram orders the hypothesis has; sacreBLEU's sentence_bleu and its
    /// <c>--sentence-level</c> turn this on.
    /// </summary>
    public bool EffectiveOrder { get; init; }
    public int MaxNgramOrder { get; init; } = 4;

    public void Validate()
    {
        // A negative add-k value turns counts negative (BLEU 100 for anything); NaN gives NaN.
        if (SmoothValue is { } value && value is not (>= 0 and < double.PositiveInfinity))
            throw new NatEmException($"--smooth-value must be a finite number of at least 0, not {value}", ExitCodes.Usage);
        if (MaxNgramOrder < 1) throw new NatEmException("the BLEU n-gram order must be at least 1", ExitCodes.Usage);
    }
}

/// <summary>BLEU's sufficient statistics, summed over the segments of a corpus.</summary>
public sealed record BleuStatistics(long HypothesisLength, long ReferenceLength, long[] Correct, long[] Total)
{
    public static BleuStatistics Zero(int maxNgramOrder) => new(0, 0, new long[maxNgramOrder], new long[maxNgramOrder]);

    public BleuStatistics Plus(BleuStatistics other) => new(
        HypothesisLength + other.HypothesisLength,
        ReferenceLength + other.ReferenceLength,
        [.. Correct.Zip(other.Correct, (a, b) => a + b)],
        [.. Total.Zip(other.Total, (a, b) => a + b)]);
}

/// <summary>
/// A BLEU result as sacreBLEU's BLEUScore reports it. <see cref="Counts"/> and <see cref="Totals"/> are the raw
/// n-gram statistics (sacreBLEU's add-k smoothing increments its copies in place before reporting them).
/// </summary>
public sealed record BleuScore(
    double Score,
    IReadOnlyList<long> Counts,
    IReadOnlyList<long> Totals,
    IReadOnlyList<double> Precisions,
    double Bp,
    long SysLen,
    long RefLen,
    IReadOnlyList<KeyValuePair<string, string>> SignatureFields)
    : MetricScore("BLEU", Score, SignatureFields)
{
    /// <summary>Hypothesis length over reference length (0 without reference words).</summary>
    public double Ratio => RefLen > 0 ? (double)SysLen / RefLen : 0;

    public override string Verbose =>
        $"{string.Join('/', Precisions.Select(p => PythonText.Fixed(p, 1)))} (BP = {PythonText.Fixed(Bp, 3)} "
        + $"ratio = {PythonText.Fixed(Ratio, 3)} hyp_len = {SysLen} ref_len = {RefLen})";
}

/// <summary>A port of sacreBLEU 2.4.3's BLEU (sacrebleu/metrics/bleu.py).</summary>
public sealed class Bleu(BleuOptions? options = null)
{
    public BleuOptions Options { get; } = Validated(options ?? new BleuOptions());

    private static BleuOptions Validated(BleuOptions options)
    {
        options.Validate();
        return options;
    }

    // Indexed by BleuSmoothing.
    private static readonly string[] SmoothingNameList = ["exp", "floor", "add-k", "none"];

    /// <summary>sacreBLEU's smoothing names: "exp", "floor", "add-k", "none".</summary>
    public static IReadOnlyList<string> SmoothingNames => SmoothingNameList;

    public static string SmoothingName(BleuSmoothing smoothing) => SmoothingNameList[(int)smoothing];

    public static BleuSmoothing ParseSmoothing(string name)
    {
        int index = Array.IndexOf(SmoothingNameList, name);
        if (index < 0)
            throw new ArgumentException(
                $"unknown BLEU smoothing '{name}' (expected one of: {string.Join(", ", SmoothingNameList)})", nameof(name));
        return (BleuSmoothing)index;
    }

    /// <summary>
    /// Corpus BLEU of <paramref name="hypotheses"/> against one or more reference streams, each with one line
    /// per hypothesis (sacreBLEU's <c>corpus_score(hyps, [refs1, refs2, ...])</c>).
    /// </summary>
    public BleuScore CorpusScore(IReadOnlyList<string> hypotheses, params IReadOnlyList<IReadOnlyList<string>> references)
    {
        ReferenceStreams.Validate(hypotheses, references);
        var sum = BleuStatistics.Zero(Options.MaxNgramOrder);
        for (int i = 0; i < hypotheses.Count; i++)
            sum = sum.Plus(SegmentStatistics(hypotheses[i], ReferenceStreams.ForSegment(references, i)));
        return ScoreFromStatistics(sum, references.Count);
    }

    /// <summary>
    /// BLEU of one sentence against its references (sacreBLEU's <c>sentence_score</c>). Like sacreBLEU's
    /// <c>sentence_bleu</c>, callers normally set <see cref="BleuOptions.EffectiveOrder"/>.
    /// </summary>
    public BleuScore SentenceScore(string hypothesis, params IReadOnlyList<string> references) =>
        CorpusScore([hypothesis], ReferenceStreams.OfSentence(references));

    /// <summary>sacreBLEU's <c>BLEU.compute_bleu</c>: the score from summed statistics, with smoothing.</summary>
    public BleuScore ScoreFromStatistics(BleuStatistics statistics, int referenceCount = 1)
    {
        int maxOrder = Options.MaxNgramOrder;
        if (statistics.Correct.Length != maxOrder || statistics.Total.Length != maxOrder)
            throw new ArgumentException($"statistics must have {maxOrder} n-gram orders", nameof(statistics));

        long sysLen = statistics.HypothesisLength, refLen = statistics.ReferenceLength;
        double bp = sysLen >= refLen ? 1.0 : sysLen > 0 ? Math.Exp(1 - (double)refLen / sysLen) : 0.0;
        var precisions = new double[maxOrder];
        var signature = SignatureFields(referenceCount);

        // No match at any order scores 0 whatever the smoothing (sacreBLEU #141).
        if (statistics.Correct.All(count => count == 0))
            return new BleuScore(0.0, statistics.Correct, statistics.Total, precisions, bp, sysLen, refLen, signature);

        double smoothMteval = 1.0;
        int effectiveOrder = maxOrder;
        for (int n = 1; n <= maxOrder; n++)
        {
            double correct = statistics.Correct[n - 1], total = statistics.Total[n - 1];
            if (Options.Smoothing == BleuSmoothing.AddK && n > 1)
            {
                correct += SmoothValue;
                total += SmoothValue;
            }
            if (total == 0) break;
            if (Options.EffectiveOrder) effectiveOrder = n;

            if (correct != 0) precisions[n - 1] = 100.0 * correct / total;
            else if (Options.Smoothing == BleuSmoothing.Exp)
            {
                smoothMteval *= 2;
                precisions[n - 1] = 100.0 / (smoothMteval * total);
            }
            else if (Options.Smoothing == BleuSmoothing.Floor)
            {
                precisions[n - 1] = 100.0 * SmoothValue / total;
            }
        }

        // sacreBLEU's my_log floors log(0) at -9999999999 so that a zero precision zeroes the score.
        double logSum = precisions.Take(effectiveOrder).Sum(p => p == 0.0 ? -9999999999 : Math.Log(p));
        double score = bp * Math.Exp(logSum / effectiveOrder);
        return new BleuScore(score, statistics.Correct, statistics.Total, precisions, bp, sysLen, refLen, signature);
    }

    /// <summary>sacreBLEU's default floor and add-k values (from Chen and Cherry, 2014).</summary>
    public const double DefaultFloorValue = 0.1, DefaultAddKValue = 1;

    /// <summary>The floor or add-k value in use.</summary>
    private double SmoothValue => Options.SmoothValue ?? Options.Smoothing switch
    {
        BleuSmoothing.Floor => DefaultFloorValue,
        BleuSmoothing.AddK => DefaultAddKValue,
        _ => 0,
    };

    private BleuStatistics SegmentStatistics(string hypothesis, string[] references)
    {
        int maxOrder = Options.MaxNgramOrder;
        var referenceCounts = new Dictionary<string, int>[maxOrder];
        var referenceLengths = new List<int>(references.Length);
        foreach (var reference in references)
        {
            var words = Words(reference);
            referenceLengths.Add(words.Count);
            for (int n = 1; n <= maxOrder; n++)
            {
                var counts = NGrams.CountWords(words, n);
                if (referenceCounts[n - 1] is null) referenceCounts[n - 1] = counts;
                else NGrams.MaxMerge(referenceCounts[n - 1], counts);
            }
        }

        var hypothesisWords = Words(hypothesis);
        var correct = new long[maxOrder];
        var total = new long[maxOrder];
        for (int n = 1; n <= maxOrder; n++)
        {
            var counts = NGrams.CountWords(hypothesisWords, n);
            total[n - 1] = NGrams.Total(counts);
            correct[n - 1] = NGrams.Matches(counts, referenceCounts[n - 1]);
        }
        return new BleuStatistics(
            hypothesisWords.Count, ClosestReferenceLength(hypothesisWords.Count, referenceLengths), correct, total);
    }

    /// <summary>sacreBLEU's <c>_preprocess_segment</c> followed by the whitespace split of n-gram extraction.</summary>
    private List<string> Words(string segment)
    {
        if (Options.Lowercase) segment = PythonText.Lower(segment);
        return PythonText.Split(Options.Tokenizer.Tokenize(PythonText.RStrip(segment)));
    }

    /// <summary>The reference length closest to the hypothesis length; the shorter one on a tie.</summary>
    private static int ClosestReferenceLength(int hypothesisLength, List<int> referenceLengths)
    {
        int closest = referenceLengths[0];
        foreach (int length in referenceLengths)
        {
            int diff = Math.Abs(hypothesisLength - length), closestDiff = Math.Abs(hypothesisLength - closest);
            if (diff < closestDiff || (diff == closestDiff && length < closest)) closest = length;
        }
        return closest;
    }

    private IReadOnlyList<KeyValuePair<string, string>> SignatureFields(int referenceCount)
    {
        var smooth = SmoothingName(Options.Smoothing);
        if (Options.Smoothing is BleuSmoothing.Floor or BleuSmoothing.AddK)
            smooth += $"[{PythonText.Fixed(SmoothValue, 2)}]";
        return MetricScore.SignatureOf(
            referenceCount,
            ("case", Options.Lowercase ? "lc" : "mixed"),
            ("eff", Options.EffectiveOrder ? "yes" : "no"),
            ("tok", Options.Tokenizer.Name),
            ("smooth", smooth));
    }
}
