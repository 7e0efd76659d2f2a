namespace NatEm.Data;

/// <summary>Groups examples of similar length into batches bounded by a padded token budget.</summary>
public static class TokenBatcher
{
    /// <summary>
    /// Groups example indices into batches whose padded size max(srcLen, tgtLen + 1) × count stays ≤
    /// <paramref name="maxTokens"/>. Examples are sorted by that padded length (ties: source length, then a
    /// seeded shuffle or the index) and cut greedily into batches; with a seed the batch order is shuffled too.
    /// The result is deterministic given the seed. An example longer than <paramref name="maxTokens"/> on its
    /// own is left out when <paramref name="skipOverBudget"/> is set (as fairseq's --skip-invalid-size-inputs;
    /// callers count them with <see cref="OverBudget"/>), else it is a <see cref="NatEmException"/> (exit code
    /// <see cref="ExitCodes.Usage"/>).
    /// </summary>
    public static List<int[]> Batches(IReadOnlyList<int> sourceLengths, IReadOnlyList<int> targetLengths, int maxTokens, int? shuffleSeed,
        bool skipOverBudget = false)
    {
        var overBudget = OverBudget(sourceLengths, targetLengths, maxTokens);
        if (overBudget.Length > 0 && !skipOverBudget)
        {
            var first = overBudget[0];
            throw new NatEmException(
                $"example {first} needs {PaddedLength(sourceLengths, targetLengths, first)} tokens, more than the batch budget of {maxTokens}; raise --max-tokens",
                ExitCodes.Usage);
        }

        var kept = Enumerable.Range(0, sourceLengths.Count).Except(overBudget).ToArray();
        var count = kept.Length;
        var padded = kept.Select(i => PaddedLength(sourceLengths, targetLengths, i)).ToArray();
        var keptSourceLengths = kept.Select(i => sourceLengths[i]).ToArray();

        var random = shuffleSeed is { } seed ? new Random(seed) : null;
        var tieBreak = Enumerable.Range(0, count).ToArray();
        random?.Shuffle(tieBreak);
        var order = Enumerable.Range(0, count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byPadded = padded[a].CompareTo(padded[b]);
            if (byPadded != 0) return byPadded;
            var bySource = keptSourceLengths[a].CompareTo(keptSourceLengths[b]);
            return bySource != 0 ? bySource : tieBreak[a].CompareTo(tieBreak[b]);
        });

        var batches = new List<int[]>();
        var start = 0;
        while (start < count)
        {
            // Sorted ascending, so the newest example sets the batch's padded length.
            var end = start + 1;
            while (end < count && padded[order[end]] * (end - start + 1) <= maxTokens) end++;
            batches.Add([.. order[start..end].Select(k => kept[k])]);
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

    /// <summary>
    /// The examples (ascending indices) whose padded length alone exceeds <paramref name="maxTokens"/>. If that is
    /// every example, no batch can be made: a <see cref="NatEmException"/> naming --max-tokens and the shortest example.
    /// </summary>
    public static int[] OverBudget(IReadOnlyList<int> sourceLengths, IReadOnlyList<int> targetLengths, int maxTokens)
    {
        if (sourceLengths.Count != targetLengths.Count)
            throw new ArgumentException($"{sourceLengths.Count} source lengths but {targetLengths.Count} target lengths");
        if (maxTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "must be positive");
        var overBudget = Enumerable.Range(0, sourceLengths.Count).Where(i => PaddedLength(sourceLengths, targetLengths, i) > maxTokens).ToArray();
        if (overBudget.Length > 0 && overBudget.Length == sourceLengths.Count)
        {
            var shortest = overBudget.Min(i => PaddedLength(sourceLengths, targetLengths, i));
            throw new NatEmException(
                $"--max-tokens {maxTokens} is below every example: the shortest needs {shortest} tokens (source + end of sentence, or target + 1); raise --max-tokens",
                ExitCodes.Usage);
        }
        return overBudget;
    }

    /// <summary>The tokens one example takes in a batch: max(srcLen, tgtLen + 1).</summary>
    public static int PaddedLength(IReadOnlyList<int> sourceLengths, IReadOnlyList<int> targetLengths, int index) =>
        Math.Max(sourceLengths[index], targetLengths[index] + 1);
}
