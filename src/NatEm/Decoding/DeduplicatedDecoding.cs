namespace NatEm.Decoding;

/// <summary>
/// The k best candidates of a non-autoregressive model at each of <see cref="Length"/> target positions.
/// Row t is elements [t*K, (t+1)*K) of <see cref="Ids"/> and <see cref="LogProbs"/>, sorted by log-prob,
/// best first. Rows are expected to be the model's true top-k (a prefix of the full distribution in
/// descending order, ties broken arbitrarily) with distinct ids; ODD's exactness relies on this.
/// </summary>
public readonly struct TopKTable
{
    /// <exception cref="ArgumentException">The array sizes do not match, or a row is unsorted or holds NaN.</exception>
    public TopKTable(int length, int k, ReadOnlyMemory<int> ids, ReadOnlyMemory<float> logProbs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        long cells = (long)length * k;
        if (ids.Length != cells || logProbs.Length != cells)
            throw new ArgumentException(
                $"a top-k table of {length} positions x {k} candidates needs {cells} ids and log-probs, got {ids.Length} and {logProbs.Length}");
        var scores = logProbs.Span;
        for (int t = 0; t < length; t++)
        {
            int row = t * k;
            for (int r = 0; r < k; r++)
            {
                float score = scores[row + r];
                if (float.IsNaN(score))
                    throw new ArgumentException($"top-k table: log-prob at position {t}, rank {r} is NaN");
                if (r > 0 && scores[row + r - 1] < score)
                    throw new ArgumentException($"top-k table: position {t} is not sorted best first (rank {r} beats rank {r - 1})");
            }
        }
        Length = length;
        K = k;
        Ids = ids;
        LogProbs = logProbs;
    }

    public int Length { get; }
    public int K { get; }
    public ReadOnlyMemory<int> Ids { get; }
    public ReadOnlyMemory<float> LogProbs { get; }
}

/// <summary>
/// Top-k tables of a batch of sentences in the layout of a [batch, maxLength, k] tensor: sentence b owns
/// rows b*MaxLength .. b*MaxLength + Lengths[b] - 1; the rows after its length are padding and are ignored.
/// </summary>
public sealed class TopKBatch
{
    private readonly int[] _lengths;

    /// <exception cref="ArgumentException">The array sizes do not match, or a length is outside 0..maxLength.</exception>
    public TopKBatch(IReadOnlyList<int> lengths, int maxLength, int k, ReadOnlyMemory<int> ids, ReadOnlyMemory<float> logProbs)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        long cells = (long)lengths.Count * maxLength * k;
        if (ids.Length != cells || logProbs.Length != cells)
            throw new ArgumentException(
                $"a batch of {lengths.Count} x {maxLength} positions x {k} candidates needs {cells} ids and log-probs, got {ids.Length} and {logProbs.Length}");
        _lengths = [.. lengths];
        for (int b = 0; b < _lengths.Length; b++)
            if (_lengths[b] < 0 || _lengths[b] > maxLength)
                throw new ArgumentException($"sentence {b} has length {_lengths[b]}, outside 0..{maxLength}");
        MaxLength = maxLength;
        K = k;
        Ids = ids;
        LogProbs = logProbs;
    }

    public int Count => _lengths.Length;
    public int MaxLength { get; }
    public int K { get; }
    public ReadOnlyMemory<int> Ids { get; }
    public ReadOnlyMemory<float> LogProbs { get; }

    /// <summary>The table of one sentence, a view of the batch's arrays (validated, not copied).</summary>
    public TopKTable Sentence(int sentence)
    {
        int start = sentence * MaxLength * K, cells = _lengths[sentence] * K;
        return new TopKTable(_lengths[sentence], K, Ids.Slice(start, cells), LogProbs.Slice(start, cells));
    }
}

/// <summary>A decoded target sentence and the sum of its per-position log-probs.</summary>
public readonly record struct DecodedSentence(int[] Tokens, double LogProb);

/// <summary>
/// Turns an NAR model's per-position top-k candidates into a sentence: plain argmax, argmax with repeats
/// collapsed, or optimal de-duplicated decoding (ODD, Sun &amp; Yang 2020) which picks the best sequence
/// that has no two equal neighbouring tokens.
/// </summary>
public static class DeduplicatedDecoding
{
    /// <summary>Three candidates per position make ODD exact; see <see cref="Odd(TopKTable, int)"/>.</summary>
    public const int DefaultCandidates = 3;

    // ODD's DP buffers grow to the longest sentence seen and are reused; per thread, so callers need no locking.
    [ThreadStatic] private static int[]? t_backPointers;
    [ThreadStatic] private static double[]? t_previousScores, t_currentScores;

    /// <summary>The top-1 token at every position.</summary>
    public static int[] Argmax(TopKTable table)
    {
        var ids = table.Ids.Span;
        var tokens = new int[table.Length];
        for (int t = 0; t < tokens.Length; t++) tokens[t] = ids[t * table.K];
        return tokens;
    }

    /// <summary>The argmax with each run of equal consecutive tokens collapsed to one token.</summary>
    public static int[] Dedup(TopKTable table)
    {
        var ids = table.Ids.Span;
        var tokens = new List<int>(table.Length);
        for (int t = 0; t < table.Length; t++)
        {
            int token = ids[t * table.K];
            if (tokens.Count == 0 || tokens[^1] != token) tokens.Add(token);
        }
        return [.. tokens];
    }

    /// <summary>
    /// Optimal de-duplicated decoding: the sequence y_1..y_T, each y_t among the first
    /// <paramref name="candidates"/> candidates of position t, that maximizes the sum of log p_t(y_t)
    /// subject to y_t != y_{t+1}. Viterbi over (position, candidate) in O(T * candidates^2).
    /// Among equally scored sequences it prefers better-ranked candidates, so when the argmax has no
    /// equal neighbours the argmax itself is returned.
    /// </summary>
    /// <remarks>
    /// With 3 candidates the result is optimal over the whole vocabulary, not just the candidates.
    /// Proof: among the optimal constrained sequences over the full vocabulary pick one, y, with the most
    /// positions whose token is in that position's top-3, and suppose y_t is not in the top-3 of position t.
    /// The constraints that involve y_t forbid at most two ids, its neighbours y_{t-1} and y_{t+1}, and the
    /// top-3 holds three distinct ids, so some top-3 token z differs from both neighbours. The top-3 is a
    /// prefix of the descending order of the whole distribution, so every member scores at least as high as
    /// every non-member, ties included: log p_t(z) >= log p_t(y_t). Swapping z in keeps every constraint
    /// satisfied and does not lower the total, so the result is still optimal and has one more position in
    /// its top-3, contradicting the choice of y. Hence an optimal sequence lies within the top-3 sets, and
    /// the DP, exact over them, reaches its score. (Vocabularies of fewer than 3 tokens have K = vocabulary.)
    /// Scores are summed in double, and rounding is monotone, so the argument holds for the computed sums too.
    /// Fewer candidates (or K &lt; 3) give an approximation; with K = 1 a solution may not exist.
    /// </remarks>
    /// <exception cref="ArgumentException">No sequence without equal neighbours exists among the candidates.</exception>
    public static DecodedSentence Odd(TopKTable table, int candidates = DefaultCandidates)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(candidates, 1);
        int length = table.Length, k = table.K;
        if (length == 0) return new DecodedSentence([], 0);
        int width = Math.Min(candidates, k);
        var ids = table.Ids.Span;
        var logProbs = table.LogProbs.Span;

        // backPointers[t*width + j] is the candidate at t-1 on the best path to candidate j at t, or -1 when
        // no feasible path reaches it; row 0 is all 0 ("reachable"), so reachability needs no special case.
        var backPointers = Rent(ref t_backPointers, length * width);
        var previous = Rent(ref t_previousScores, width);
        var current = Rent(ref t_currentScores, width);
        for (int j = 0; j < width; j++)
        {
            previous[j] = logProbs[j];
            backPointers[j] = 0;
        }

        for (int t = 1; t < length; t++)
        {
            int row = t * k, previousRow = row - k, backRow = t * width, previousBackRow = backRow - width;
            for (int j = 0; j < width; j++)
            {
                int token = ids[row + j], best = -1;
                double bestScore = double.NegativeInfinity;
                for (int i = 0; i < width; i++)
                {
                    if (ids[previousRow + i] == token || backPointers[previousBackRow + i] < 0) continue;
                    // Strict '>' keeps the best-ranked predecessor among ties; 'best < 0' admits -inf scores.
                    if (best < 0 || previous[i] > bestScore)
                    {
                        best = i;
                        bestScore = previous[i];
                    }
                }
                backPointers[backRow + j] = best;
                current[j] = bestScore + logProbs[row + j];
            }
            (previous, current) = (current, previous);
        }

        int last = -1, lastRow = (length - 1) * width;
        for (int j = 0; j < width; j++)
            if (backPointers[lastRow + j] >= 0 && (last < 0 || previous[j] > previous[last])) last = j;
        if (last < 0)
            throw new ArgumentException(
                $"no sequence without equal neighbouring tokens exists among the top {width} candidates of this table");

        var tokens = new int[length];
        for (int t = length - 1, j = last; t >= 0; t--)
        {
            tokens[t] = ids[t * k + j];
            j = backPointers[t * width + j];
        }
        return new DecodedSentence(tokens, previous[last]);
    }

    /// <summary><see cref="Odd(TopKTable, int)"/> for each sentence of a batch, in order.</summary>
    public static DecodedSentence[] Odd(TopKBatch batch, int candidates = DefaultCandidates)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var results = new DecodedSentence[batch.Count];
        for (int b = 0; b < results.Length; b++) results[b] = Odd(batch.Sentence(b), candidates);
        return results;
    }

    private static T[] Rent<T>(ref T[]? buffer, int size)
    {
        if (buffer is null || buffer.Length < size) buffer = new T[Math.Max(size, 2 * (buffer?.Length ?? 0))];
        return buffer;
    }
}
