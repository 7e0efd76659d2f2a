using NatEm.Training;

namespace NatEm.Em;

/// <summary>
/// What one selection criterion chose among the AR candidates of every source: how often each AR rank won, and
/// how the chosen candidates' lengths compare with the beam's first (the paper's Total criterion sums one
/// log-probability per token, so it can drift to short candidates; PerToken divides that bias out).
/// </summary>
/// <param name="Criterion">The criterion these figures describe.</param>
/// <param name="Used">Whether this criterion chose the round's training targets.</param>
/// <param name="RankShares">Fraction of sources whose chosen candidate had AR rank r (index 0 = the beam's first).</param>
/// <param name="TokensVsFirst">Tokens of all chosen candidates over tokens of all beam-first candidates.</param>
/// <param name="ShorterThanFirst">Fraction of sources whose chosen candidate is shorter than the beam's first.</param>
/// <param name="LongerThanFirst">Fraction of sources whose chosen candidate is longer than the beam's first.</param>
/// <param name="Unscorable">Sources whose every candidate scored −∞ (a CTC scorer aligned none of them): the beam's first is kept.</param>
public sealed record SelectionStatistics(SelectionScore Criterion, bool Used, double[] RankShares, double TokensVsFirst,
    double ShorterThanFirst, double LongerThanFirst, int Unscorable = 0)
{
    /// <summary>Fraction of sources whose target is not the beam's first candidate.</summary>
    public double NotFirst => 1 - RankShares[0];

    public static SelectionStatistics Of(SelectionScore criterion, bool used, IReadOnlyList<int> choice, CandidateLists<int[]> candidates, CandidateLists<float>? scores = null)
    {
        int sources = candidates.SourceCount;
        var rankShares = new double[candidates.PerSource];
        long chosenTokens = 0, firstTokens = 0;
        int shorter = 0, longer = 0;
        for (int i = 0; i < sources; i++)
        {
            rankShares[choice[i]] += 1.0 / sources;
            int chosen = candidates[i, choice[i]].Length, first = candidates[i, 0].Length;
            chosenTokens += chosen;
            firstTokens += first;
            if (chosen < first) shorter++;
            if (chosen > first) longer++;
        }
        return new SelectionStatistics(criterion, used, rankShares, (double)chosenTokens / Math.Max(1, firstTokens),
            (double)shorter / Math.Max(1, sources), (double)longer / Math.Max(1, sources), scores is null ? 0 : EmSelection.Unscorable(scores));
    }
}

/// <summary>The EM selection rule, separate so that it can be checked on hand-made scores.</summary>
public static class EmSelection
{
    /// <summary>The candidates' scores as the criterion compares them (the cached scores stay totals).</summary>
    public static CandidateLists<float> Comparable(CandidateLists<float> totals, CandidateLists<int[]> candidates, SelectionScore criterion) =>
        criterion == SelectionScore.Total ? totals : totals.With(totals.Entries.Select((score, i) => Comparable(score, candidates.Entries[i].Length, criterion)).ToArray());

    /// <summary>One candidate's score as <paramref name="criterion"/> compares it, from its total log-likelihood and its tokens.</summary>
    public static T Comparable<T>(T total, int tokens, SelectionScore criterion) where T : System.Numerics.IFloatingPoint<T> =>
        criterion == SelectionScore.Total ? total : total / T.CreateChecked(tokens + 1);

    /// <summary>Sources none of whose candidates has a finite score (CTC's −∞: no alignment to the grid exists).</summary>
    public static int Unscorable(CandidateLists<float> scores) =>
        Enumerable.Range(0, scores.SourceCount).Count(i => Enumerable.Range(0, scores.PerSource).All(rank => float.IsNegativeInfinity(scores[i, rank])));

    /// <summary>
    /// For each source, the rank of its best-scoring candidate; ties go to the earlier (higher AR rank), so a −∞
    /// candidate is never chosen over a finite one, and a source whose candidates are all −∞ keeps the beam's first.
    /// </summary>
    public static int[] Choose(CandidateLists<float> scores)
    {
        var choice = new int[scores.SourceCount];
        for (int i = 0; i < choice.Length; i++)
            for (int rank = 1; rank < scores.PerSource; rank++)
                if (scores[i, rank] > scores[i, choice[i]]) choice[i] = rank;
        return choice;
    }

    /// <summary>
    /// The choices of <paramref name="used"/> and the statistics of every criterion on the same scores, so that one
    /// round's N-best pass and NAR scoring show what each criterion would select.
    /// </summary>
    public static (int[] Choice, IReadOnlyList<SelectionStatistics> Statistics) ChooseAndCompare(CandidateLists<float> totals,
        CandidateLists<int[]> candidates, SelectionScore used)
    {
        int[] choice = [];
        var statistics = new List<SelectionStatistics>();
        foreach (var criterion in Enum.GetValues<SelectionScore>())
        {
            var criterionChoice = Choose(Comparable(totals, candidates, criterion));
            if (criterion == used) choice = criterionChoice;
            statistics.Add(SelectionStatistics.Of(criterion, criterion == used, criterionChoice, candidates, totals));
        }
        return (choice, statistics);
    }
}
