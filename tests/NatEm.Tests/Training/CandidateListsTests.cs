using NatEm.Training;

namespace NatEm.Tests.Training;

public sealed class CandidateListsTests
{
    // Three sources with two candidates each: entries 2i and 2i + 1 belong to source i.
    private static readonly CandidateLists<string> Lists = new(["a0", "a1", "b0", "b1", "c0", "c1"], 2);

    [Fact]
    public void EntriesAreGroupedSourceBySourceBestRankFirst()
    {
        Assert.Equal(3, Lists.SourceCount);
        Assert.Equal("b1", Lists[1, 1]);
        Assert.Equal("c0", Lists[2, 0]);
        Assert.Equal([0, 0, 1, 1, 2, 2], Lists.SourceOfEachEntry());
        Assert.Throws<ArgumentOutOfRangeException>(() => Lists[0, 2]);
    }

    [Fact]
    public void SlicesValuesAndPicksKeepTheLayout()
    {
        var middle = Lists.Slice(1, 2);
        Assert.Equal(["b0", "b1", "c0", "c1"], middle.Entries);
        Assert.Equal(2, middle.PerSource);
        var scores = Lists.With([-1f, -2f, -3f, -4f, -5f, -6f]);
        Assert.Equal(-4f, scores[1, 1]);
        Assert.Equal(["a1", "b0", "c1"], Lists.Pick([1, 0, 1]));
        Assert.Equal(Lists.Entries, CandidateLists<string>.Concat([Lists.Slice(0, 1), middle], 2).Entries);
        Assert.Equal(Lists.Entries, CandidateLists<string>.FromLists([["a0", "a1"], ["b0", "b1"], ["c0", "c1"]]).Entries);
    }

    [Fact]
    public void EntriesThatDoNotFillWholeListsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new CandidateLists<int>([1, 2, 3], 2));
        Assert.Throws<ArgumentException>(() => Lists.With([1f, 2f]));
        Assert.Throws<ArgumentException>(() => Lists.Pick([0, 0]));
        Assert.Throws<ArgumentException>(() => CandidateLists<int>.FromLists([[1, 2], [3]]));
    }
}
