namespace NatEm.Evaluation;

/// <summary>Settings of <see cref="Chrf"/>; the defaults are sacreBLEU's chrF (chrF2, character 6-grams).</summary>
public sealed record ChrfOptions
{
    public int CharOrder { get; init; } = 6;
    /// <summary>Word n-gram order; 2 makes the metric chrF++.</summary>
    public int WordOrder { get; init; }
    /// <summary>Weight of recall relative to precision.</summary>
    public int Beta { get; init; } = 2;
    public bool Lowercase { get; init; }
    /// <summary>Keep whitespace inside character n-grams.</summary>
    public bool Whitespace { get; init; }
    /// <summary>
    /// chrF++.py/NLTK/Moses epsilon smoothing instead of sacreBLEU's default effective-order averaging
    /// (the signature then says "eff:no").
    /// </summary>
    public bool EpsSmoothing { get; init; }

    /// <summary>sacreBLEU's chrF++: chrF with word unigrams and bigrams.</summary>
    public static ChrfOptions ChrfPlusPlus => new() { WordOrder = 2 };
}

/// <summary>A chrF or chrF++ result; the name is "chrF2", "chrF2++" etc. as in sacreBLEU.</summary>
public sealed record ChrfScore(
    double Score, int CharOrder, int WordOrder, int Beta, IReadOnlyList<KeyValuePair<string, string>> SignatureFields)
    : MetricScore($"chrF{Beta}{new string('+', WordOrder)}", Score, SignatureFields);

/// <summary>A port of sacreBLEU 2.4.3's chrF and chrF++ (sacrebleu/metrics/chrf.py).</summary>
public sealed class Chrf(ChrfOptions? options = null)
{
    private const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    public ChrfOptions Options { get; } = options ?? new ChrfOptions();

    private int Order => Options.CharOrder + Options.WordOrder;

    /// <summary>Corpus chrF of <paramref name="hypotheses"/> against one or more reference streams.</summary>
    public ChrfScore CorpusScore(IReadOnlyList<string> hypotheses, params IReadOnlyList<IReadOnlyList<string>> references)
    {
        ReferenceStreams.Validate(hypotheses, references);
        var sum = new long[3 * Order];
        for (int i = 0; i < hypotheses.Count; i++)
        {
            var segment = SegmentStatistics(hypotheses[i], ReferenceStreams.ForSegment(references, i));
            for (int k = 0; k < sum.Length; k++) sum[k] += segment[k];
        }
        return new ChrfScore(FScore(sum), Options.CharOrder, Options.WordOrder, Options.Beta, SignatureFields(references.Count));
    }

    /// <summary>chrF of one sentence against its references (sacreBLEU's <c>sentence_score</c>).</summary>
    public ChrfScore SentenceScore(string hypothesis, params IReadOnlyList<string> references) =>
        CorpusScore([hypothesis], ReferenceStreams.OfSentence(references));

    /// <summary>
    /// [hypothesis n-grams, reference n-grams, matches] per order (character orders first, then word orders),
    /// against the reference with the best F-score.
    /// </summary>
    private long[] SegmentStatistics(string hypothesis, string[] references)
    {
        var hypothesisNgrams = ExtractNgrams(hypothesis);
        long[] best = [];
        double bestFScore = -1.0;
        foreach (var reference in references)
        {
            var referenceNgrams = ExtractNgrams(reference);
            var statistics = new long[3 * Order];
            for (int order = 0; order < Order; order++)
            {
                long referenceTotal = NGrams.Total(referenceNgrams[order]);
                // Hypothesis n-grams do not count where the reference has none of this order.
                statistics[3 * order] = referenceTotal > 0 ? NGrams.Total(hypothesisNgrams[order]) : 0;
                statistics[3 * order + 1] = referenceTotal;
                statistics[3 * order + 2] = NGrams.Matches(hypothesisNgrams[order], referenceNgrams[order]);
            }
            double fScore = FScore(statistics);
            if (fScore > bestFScore)
            {
                bestFScore = fScore;
                best = statistics;
            }
        }
        return best;
    }

    private List<Dictionary<string, int>> ExtractNgrams(string segment)
    {
        if (Options.Lowercase) segment = PythonText.Lower(segment);
        var characters = Options.Whitespace ? segment : string.Concat(PythonText.Split(segment));
        var ngrams = new List<Dictionary<string, int>>(Order);
        for (int n = 1; n <= Options.CharOrder; n++) ngrams.Add(NGrams.CountCharacters(characters, n));
        if (Options.WordOrder > 0)
        {
            var words = SplitOffPunctuation(segment);
            for (int n = 1; n <= Options.WordOrder; n++) ngrams.Add(NGrams.CountWords(words, n));
        }
        return ngrams;
    }

    /// <summary>
    /// chrF++'s word tokenization: one ASCII punctuation mark is split off the end of a word, or else off its
    /// start (so "(hi)" gives "(hi" and ")", as in sacreBLEU).
    /// </summary>
    private static List<string> SplitOffPunctuation(string segment)
    {
        var words = new List<string>();
        foreach (var word in PythonText.Split(segment))
        {
            if (word.Length == 1) words.Add(word);
            else if (AsciiPunctuation.Contains(word[^1])) words.AddRange([word[..^1], word[^1..]]);
            else if (AsciiPunctuation.Contains(word[0])) words.AddRange([word[..1], word[1..]]);
            else words.Add(word);
        }
        return words;
    }

    /// <summary>sacreBLEU's <c>_compute_f_score</c> over [hyp, ref, match] triples, between 0 and 100.</summary>
    private double FScore(long[] statistics)
    {
        const double eps = 1e-16;
        double factor = Options.Beta * Options.Beta;
        double score = 0.0, averagePrecision = 0.0, averageRecall = 0.0;
        int effectiveOrder = 0;
        for (int order = 0; order < Order; order++)
        {
            long hypothesisCount = statistics[3 * order], referenceCount = statistics[3 * order + 1];
            double matches = statistics[3 * order + 2];
            double precision = hypothesisCount > 0 ? matches / hypothesisCount : eps;
            double recall = referenceCount > 0 ? matches / referenceCount : eps;
            double denominator = factor * precision + recall;
            score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps;

            if (hypothesisCount > 0 && referenceCount > 0)
            {
                averagePrecision += precision;
                averageRecall += recall;
                effectiveOrder++;
            }
        }

        if (Options.EpsSmoothing) return 100 * score / Order;
        if (effectiveOrder == 0) return 0.0;
        averagePrecision /= effectiveOrder;
        averageRecall /= effectiveOrder;
        if (averagePrecision + averageRecall == 0) return 0.0;
        return 100 * ((1 + factor) * averagePrecision * averageRecall / (factor * averagePrecision + averageRecall));
    }

    private IReadOnlyList<KeyValuePair<string, string>> SignatureFields(int referenceCount) =>
        MetricScore.SignatureOf(
            referenceCount,
            ("case", Options.Lowercase ? "lc" : "mixed"),
            ("eff", Options.EpsSmoothing ? "no" : "yes"),
            ("nc", Options.CharOrder.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("nw", Options.WordOrder.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("space", Options.Whitespace ? "yes" : "no"));
}
