using NatEm.Decoding;

namespace NatEm.Tests.Decoding;

/// <summary>
/// Full per-position score tables (length x vocab, row-major) for decoding tests, with the reference
/// computations the decoder is checked against. Scores need not be normalized: no decoder relies on it.
/// </summary>
internal static class ScoreTables
{
    /// <summary>Random scores in (-8, 0]; <paramref name="coarse"/> draws from {0, -1, -2} so ties abound.</summary>
    public static float[] Random(Random rng, int length, int vocab, bool coarse)
    {
        var scores = new float[length * vocab];
        for (int i = 0; i < scores.Length; i++)
            scores[i] = coarse ? -rng.Next(0, 3) : (float)(-8 * rng.NextDouble());
        return scores;
    }

    /// <summary>
    /// Random scores where a position often shares its best token with the previous one, as NAR models do,
    /// so that the argmax has neighbouring repeats.
    /// </summary>
    public static float[] Sticky(Random rng, int length, int vocab)
    {
        var scores = Random(rng, length, vocab, coarse: false);
        // Rows are final once visited, so the previous row's best token is known; 0.5 beats every other score.
        for (int t = 1; t < length; t++)
            if (rng.NextDouble() < 0.6) scores[t * vocab + Best(scores, t - 1, vocab)] = 0.5f;
        return scores;
    }

    /// <summary>The top-k table of a full score table; ties are ranked by lower id.</summary>
    public static TopKTable TopK(float[] scores, int length, int vocab, int k)
    {
        var ids = new int[length * k];
        var logProbs = new float[length * k];
        for (int t = 0; t < length; t++)
        {
            var ranked = Enumerable.Range(0, vocab).OrderByDescending(v => scores[t * vocab + v]).ThenBy(v => v).Take(k).ToArray();
            for (int r = 0; r < k; r++)
            {
                ids[t * k + r] = ranked[r];
                logProbs[t * k + r] = scores[t * vocab + ranked[r]];
            }
        }
        return new TopKTable(length, k, ids, logProbs);
    }

    /// <summary>Sum of the tokens' scores, accumulated left to right in double like the decoder does.</summary>
    public static double Score(float[] scores, int vocab, int[] tokens)
    {
        double total = 0;
        for (int t = 0; t < tokens.Length; t++) total += scores[t * vocab + tokens[t]];
        return total;
    }

    public static bool HasNeighbourRepeats(int[] tokens)
    {
        for (int t = 1; t < tokens.Length; t++)
            if (tokens[t] == tokens[t - 1]) return true;
        return false;
    }

    /// <summary>The best total over every sequence without equal neighbours, by exhaustive enumeration.</summary>
    public static double BruteForceBest(float[] scores, int length, int vocab)
    {
        if (length == 0) return 0;
        double best = double.NegativeInfinity;
        void Extend(int t, int previous, double total)
        {
            if (t == length)
            {
                best = Math.Max(best, total);
                return;
            }
            for (int v = 0; v < vocab; v++)
                if (v != previous) Extend(t + 1, v, total + scores[t * vocab + v]);
        }
        Extend(0, -1, 0);
        return best;
    }

    /// <summary>Left to right, the best token over the whole vocabulary that differs from the previous one.</summary>
    public static int[] GreedyWithoutRepeats(float[] scores, int length, int vocab)
    {
        var tokens = new int[length];
        for (int t = 0; t < length; t++)
        {
            int best = -1;
            for (int v = 0; v < vocab; v++)
                if ((t == 0 || v != tokens[t - 1]) && (best < 0 || scores[t * vocab + v] > scores[t * vocab + best])) best = v;
            tokens[t] = best;
        }
        return tokens;
    }

    private static int Best(float[] scores, int t, int vocab)
    {
        int best = 0;
        for (int v = 1; v < vocab; v++)
            if (scores[t * vocab + v] > scores[t * vocab + best]) best = v;
        return best;
    }
}
