namespace NatEm.Data;

/// <summary>Groups examples of similar length into batches bounded by a padded token budget.</summary>
public static class TokenBatcher
{
    /// <summary>
    /// Groups example indices into batches whose padded size max(srcLen, tgtLen + 1) × count stays ≤
    /// <paramref name="maxTokens"/>. Examples are sorted by that padded length (ties: source length, then a
    /// seeded shuffle or the index) and cut greedily into batches; with a seed the batch order is shuffled too.
    /// The result is deterministic given the seed. An example longer than <paramref name="maxTokens"/> on its
    /// own is a <see cref="NatEmException"/> (exit code <see cref="ExitCodes.Usage"/>).
    /// </summary>
    public static List<int[]> Batches(IReadOnlyList<int> sourceLengths, IReadOnlyList<int> targetLengths, int maxTokens, int? shuffleSeed)
    {
        if (sourceLengths.Count != targetLengths.Count)
            throw new ArgumentException($"{sourceLengths.Count} source lengths but {targetLengths.Count} target lengths");
        if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "must be positive");

        var count = sourceLengths.Count;
        var padded = new int[count];
        for (var i = 0; i < count; i++)
        {
            padded[i] = Math.Max(sourceLengths[i], targetLengths[i] + 1);
            if (padded[i] > maxTokens)
                throw new NatEmException(
                    $"example {i} needs {padded[i]} tokens, more than the batch budget of {maxTokens}; raise --max-tokens",
                    ExitCodes.Usage);
        }

        var random = shuffleSeed is { } seed ? new Random(seed) : null;
        var tieBreak = Enumerable.Range(0, count).ToArray();
        random?.Shuffle(tieBreak);
        var order = Enumerable.Range(0, count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byPadded = padded[a].CompareTo(padded[b]);
            if (byPadded != 0) return byPadded;
            var bySource = sourceLengths[a].CompareTo(sourceLengths[b]);
            return bySource != 0 ? bySource : tieBreak[a].CompareTo(tieBreak[b]);
        });

        var batches = new List<int[]>();
        var start = 0;
        while (start < count)
        {
            // Sorted ascending, so the newest example sets the batch's padded length.
            var end = start + 1;
            while (end < count && padded[order[end]] * (end - start + 1) <= maxTokens) end++;
            batches.Add(order[start..end]);
            start = end;
        }
        if (random is not null)
        {
            var shuffled = batches.ToArray();
            random.Shuffle(shuffled);
            return [.. shuffled];
        }
        return batches;
    }
}
