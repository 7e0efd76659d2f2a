namespace NatEm.Training;

/// <summary>
/// N entries per source, source after source and best AR rank first within one: entries i·N … i·N+N−1 belong to
/// source i. An N-best list (T = token ids) and the scores of its candidates (T = float) share this layout, which is
/// also the order of their files on disk.
/// </summary>
public sealed class CandidateLists<T>
{
    private readonly T[] entries;

    public CandidateLists(IReadOnlyList<T> entries, int perSource)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSource, 1);
        if (entries.Count % perSource != 0)
            throw new ArgumentException($"{entries.Count} entries do not make lists of {perSource}", nameof(entries));
        this.entries = [.. entries];
        PerSource = perSource;
    }

    /// <summary>Lists given one per source; all must have the same length.</summary>
    public static CandidateLists<T> FromLists(IReadOnlyList<IReadOnlyList<T>> lists)
    {
        if (lists.Count == 0) throw new ArgumentException("no lists", nameof(lists));
        int perSource = lists[0].Count;
        if (lists.Any(l => l.Count != perSource)) throw new ArgumentException("lists of different lengths", nameof(lists));
        return new CandidateLists<T>(lists.SelectMany(l => l).ToArray(), perSource);
    }

    /// <summary>Lists of consecutive sources, joined in order.</summary>
    public static CandidateLists<T> Concat(IReadOnlyList<CandidateLists<T>> parts, int perSource)
    {
        if (parts.Any(p => p.PerSource != perSource)) throw new ArgumentException($"parts with other than {perSource} entries per source", nameof(parts));
        return new CandidateLists<T>(parts.SelectMany(p => p.entries).ToArray(), perSource);
    }

    /// <summary>N, the entries per source.</summary>
    public int PerSource { get; }

    public int SourceCount => entries.Length / PerSource;

    /// <summary>Every entry, in layout order.</summary>
    public IReadOnlyList<T> Entries => entries;

    /// <summary>The entry of <paramref name="source"/> at <paramref name="rank"/> (0 = the AR model's best).</summary>
    public T this[int source, int rank] => (uint)rank < (uint)PerSource ? entries[source * PerSource + rank] : throw new ArgumentOutOfRangeException(nameof(rank));

    /// <summary>For every entry in layout order, the source it belongs to.</summary>
    public IEnumerable<int> SourceOfEachEntry() => Enumerable.Range(0, entries.Length).Select(e => e / PerSource);

    /// <summary>The lists of sources [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>).</summary>
    public CandidateLists<T> Slice(int first, int count) => new(entries[(first * PerSource)..((first + count) * PerSource)], PerSource);

    /// <summary>One value per entry (e.g. the candidates' scores), in this layout.</summary>
    public CandidateLists<TValue> With<TValue>(IReadOnlyList<TValue> values) =>
        values.Count == entries.Length ? new(values, PerSource) : throw new ArgumentException($"{values.Count} values for {entries.Length} entries", nameof(values));

    /// <summary>One entry per source: source i's entry at rank <paramref name="ranks"/>[i].</summary>
    public T[] Pick(IReadOnlyList<int> ranks) =>
        ranks.Count == SourceCount ? ranks.Select((rank, source) => this[source, rank]).ToArray() : throw new ArgumentException($"{ranks.Count} ranks for {SourceCount} sources", nameof(ranks));
}
