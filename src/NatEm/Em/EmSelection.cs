using NatEm.Training;

namespace NatEm.Em;

/// <summary>The EM selection rule, separate so that it can be checked on hand-made scores.</summary>
public static class EmSelection
{
    /// <summary>The candidates' scores as the criterion compares them (the cached scores stay totals).</summary>
    public static CandidateLists<float> Comparable(CandidateLists<float> totals, CandidateLists<int[]> candidates, SelectionScore criterion) =>
        criterion == SelectionScore.Total ? totals : totals.With(totals.Entries.Select((score, i) => score / (candidates.Entries[i].Length + 1)).ToArray());

    /// <summary>For each source, the rank of its best-scoring candidate; ties go to the earlier (higher AR rank).</summary>
    public static int[] Choose(CandidateLists<float> scores)
    {
        var choice = new int[scores.SourceCount];
        for (int i = 0; i < choice.Length; i++)
            for (int rank = 1; rank < scores.PerSource; rank++)
                if (scores[i, rank] > scores[i, choice[i]]) choice[i] = rank;
        return choice;
    }
}
