namespace NatEm.Evaluation;

/// <summary>N-gram counting shared by BLEU and chrF (sacreBLEU's metrics/helpers.py).</summary>
internal static class NGrams
{
    /// <summary>
    /// Counts of the word n-grams of one order, keyed by the words joined with single spaces (the words come
    /// from a whitespace split, so the key is unambiguous).
    /// </summary>
    public static Dictionary<string, int> CountWords(IReadOnlyList<string> words, int order)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var window = new string[order];
        for (int start = 0; start + order <= words.Count; start++)
        {
            for (int k = 0; k < order; k++) window[k] = words[start + k];
            Increment(counts, string.Join(' ', window));
        }
        return counts;
    }

    /// <summary>Counts of the character n-grams of one order; characters are Unicode code points, as in Python.</summary>
    public static Dictionary<string, int> CountCharacters(string text, int order)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var starts = CodePointStarts(text);
        for (int first = 0; first + order < starts.Count; first++)
            Increment(counts, text[starts[first]..starts[first + order]]);
        return counts;
    }

    /// <summary>Total count of all n-grams.</summary>
    public static long Total(Dictionary<string, int> counts)
    {
        long total = 0;
        foreach (var count in counts.Values) total += count;
        return total;
    }

    /// <summary>Clipped matches: each hypothesis n-gram counts at most as often as the reference has it.</summary>
    public static long Matches(Dictionary<string, int> hypothesis, Dictionary<string, int> reference)
    {
        long matches = 0;
        foreach (var (ngram, count) in hypothesis)
            if (reference.TryGetValue(ngram, out int available)) matches += Math.Min(count, available);
        return matches;
    }

    /// <summary>Merges another reference's counts into <paramref name="into"/> by taking the maximum per n-gram.</summary>
    public static void MaxMerge(Dictionary<string, int> into, Dictionary<string, int> other)
    {
        foreach (var (ngram, count) in other)
            if (!into.TryGetValue(ngram, out int existing) || count > existing) into[ngram] = count;
    }

    private static void Increment(Dictionary<string, int> counts, string ngram) =>
        counts[ngram] = counts.GetValueOrDefault(ngram) + 1;

    /// <summary>UTF-16 offsets of every code point, plus the text length as a final sentinel.</summary>
    private static List<int> CodePointStarts(string text)
    {
        var starts = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1) starts.Add(i);
        starts.Add(text.Length);
        return starts;
    }
}
