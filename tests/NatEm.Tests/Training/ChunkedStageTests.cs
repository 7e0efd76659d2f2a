using NatEm.Training;

namespace NatEm.Tests.Training;

public sealed class ChunkedStageTests
{
    private const string TeacherA = "AR model weights sha256 aaaa, beam 4, 1-best of 3 sources sha256 1111";
    private const string TeacherB = "AR model weights sha256 bbbb, beam 4, 1-best of 3 sources sha256 1111";

    /// <summary>Runs a stage of 3 sources in chunks of 2; each source's result is its index plus <paramref name="offset"/>; counts computed chunks.</summary>
    private static (string Results, int ComputedChunks) Run(string folder, string inputs, float offset = 0)
    {
        int computed = 0;
        var results = new ChunkedStage<float>(folder, ChunkCodec<float>.Floats, inputs, chunkSize: 2).Run(3, 1, (start, length) =>
        {
            computed++;
            return CandidateLists<float>.FromLists([.. Enumerable.Range(start, length).Select(i => (IReadOnlyList<float>)[i + offset])]);
        });
        return (string.Join(' ', results.Entries), computed);
    }

    [Fact]
    public void StoredChunksAreReadBackForTheSameInputs()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "distill");
        Assert.Equal(("0 1 2", 2), Run(folder, TeacherA));

        Assert.Equal(("0 1 2", 0), Run(folder, TeacherA, offset: 10));
        // A chunk size other than the default is part of the record: shards must cut the pass alike.
        Assert.Equal(TeacherA + ", chunks of 2 sources\n", File.ReadAllText(Path.Combine(folder, ChunkedStage<float>.InputsFile)));
    }

    [Fact]
    public void AFolderComputedFromOtherInputsIsRefusedWithAUsageErrorNamingItsRecord()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "distill");
        Run(folder, TeacherA);

        var error = Assert.Throws<NatEmException>(() => Run(folder, TeacherB));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith(Path.Combine(folder, ChunkedStage<float>.InputsFile) + ": its results were computed from " + TeacherA, error.Message);
        Assert.Contains("delete " + folder, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void AFolderFromBeforeTheRecordIsAdoptedAndThenGuarded()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "distill");
        Run(folder, TeacherA);
        File.Delete(Path.Combine(folder, ChunkedStage<float>.InputsFile));

        Assert.Equal(("0 1 2", 0), Run(folder, TeacherB, offset: 10));
        Assert.Throws<NatEmException>(() => Run(folder, TeacherA));
    }

    /// <summary>A pass over 7 sources in parts of 2 (4 parts); each source's result is its index × 1.5; records the starts it computes.</summary>
    private static ChunkedPass<float> Pass(string folder, List<int> computedStarts, string inputs = TeacherA, int chunkSize = 2) =>
        new ChunkedStage<float>(folder, ChunkCodec<float>.Floats, inputs, chunkSize).Pass(7, 1, (start, length) =>
        {
            lock (computedStarts) computedStarts.Add(start);
            return CandidateLists<float>.FromLists([.. Enumerable.Range(start, length).Select(i => (IReadOnlyList<float>)[i * 1.5f])]);
        });

    private static string[] PartFiles(string folder) => [.. Directory.GetFiles(folder, "part_*.bin").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public void ShardsComputeDisjointPartsAndTheirMergeIsTheOneProcessResultByteForByte()
    {
        var (one, sharded) = (Path.Combine(SyntheticTask.TempDir(), "one"), Path.Combine(SyntheticTask.TempDir(), "sharded"));
        var whole = Pass(one, []).Run();

        var starts = new List<int>[3];
        var outcomes = Enumerable.Range(0, 3).Select(i => Pass(sharded, starts[i] = []).RunShard(new Shard(i, 3))).ToList();

        // Parts p ≡ i (mod 3): shard 0 takes parts 0 and 3 (sources 0 and 6), shard 1 part 1, shard 2 part 2.
        Assert.Equal([[0, 6], [2], [4]], starts);
        Assert.Equal([2, 1, 1], outcomes.Select(o => o.Computed));
        Assert.Equal((4, 4), (outcomes[2].PartsPresent, outcomes[2].PartsTotal));
        var merging = new List<int>();
        Assert.Equal(whole.Entries, Pass(sharded, merging).Run().Entries);
        Assert.Empty(merging);
        Assert.Equal(PartFiles(one), PartFiles(sharded));
        foreach (var part in PartFiles(one))
            Assert.Equal(File.ReadAllBytes(Path.Combine(one, part)), File.ReadAllBytes(Path.Combine(sharded, part)));

        // A shard rerun (a killed pod restarted) finds its parts finished and computes nothing.
        var rerun = new List<int>();
        Assert.Equal((0, 2), (Pass(sharded, rerun).RunShard(new Shard(0, 3)).Computed, Pass(sharded, rerun).RunShard(new Shard(0, 3)).AlreadyFinished));
        Assert.Empty(rerun);
    }

    [Fact]
    public void TheRunComputesOnlyThePartsOfShardsThatDidNotRun()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "nbest");
        Pass(folder, []).RunShard(new Shard(1, 2));

        var computed = new List<int>();
        var merged = Pass(folder, computed).Run();

        Assert.Equal([0, 4], computed);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => i * 1.5f), merged.Entries);
    }

    [Fact]
    public void ReadingAnUnfinishedPassNamesTheFirstMissingPartAndComputesNothing()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "nbest");
        var computed = new List<int>();
        Pass(folder, computed).RunShard(new Shard(0, 2));

        var error = Assert.Throws<NatEmException>(() => Pass(folder, computed).ReadFinished("round1/nbest"));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains("round1/nbest is not finished: 2 of its 4 parts are missing (part_00001.bin first)", error.Message);
        Assert.Equal([0, 4], computed);
        Pass(folder, computed).RunShard(new Shard(1, 2));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => i * 1.5f), Pass(folder, computed).ReadFinished("round1/nbest").Entries);
    }

    [Fact]
    public void AShardOfOtherInputsOrAnotherChunkSizeIsRefusedBeforeItWritesAPart()
    {
        var folder = Path.Combine(SyntheticTask.TempDir(), "distill");
        Pass(folder, []).RunShard(new Shard(0, 2));

        var otherTeacher = Assert.Throws<NatEmException>(() => Pass(folder, [], TeacherB).RunShard(new Shard(1, 2)));
        var otherChunks = Assert.Throws<NatEmException>(() => Pass(folder, [], chunkSize: 3).RunShard(new Shard(1, 2)));

        Assert.Equal((ExitCodes.Usage, ExitCodes.Usage), (otherTeacher.ExitCode, otherChunks.ExitCode));
        Assert.Contains("not from " + TeacherB, otherTeacher.Message);
        Assert.Contains("not from " + TeacherA + ", chunks of 3 sources", otherChunks.Message);
        Assert.Equal(["part_00000.bin", "part_00002.bin"], PartFiles(folder));
    }

    [Fact]
    public void OfShardsCreatingTheInputsRecordAtOnceExactlyOneWritesIt()
    {
        var folder = SyntheticTask.TempDir();
        var path = Path.Combine(folder, ChunkedStage.InputsFile);

        var created = Enumerable.Range(0, 8).AsParallel().Select(i => NatEm.IO.AtomicFile.WriteNew(path, $"writer {i}\n")).ToList();

        Assert.Single(created, c => c);
        Assert.Matches(@"^writer \d\n$", File.ReadAllText(path));
        Assert.Equal([ChunkedStage.InputsFile], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("3/16", 3, 16)]
    [InlineData("0/1", 0, 1)]
    public void AShardIsWrittenIOverN(string text, int index, int count)
    {
        var shard = Shard.Parse(text);
        Assert.Equal((index, count, text), (shard.Index, shard.Count, shard.ToString()));
    }

    [Theory]
    [InlineData("16/16")]
    [InlineData("-1/3")]
    [InlineData("1/0")]
    [InlineData("3")]
    [InlineData("a/b")]
    [InlineData("1/2/3")]
    public void AnythingButIOverNWithIBelowNIsAUsageError(string text)
    {
        var error = Assert.Throws<NatEmException>(() => Shard.Parse(text));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.StartsWith($"--shard {text}", error.Message);
    }

    [Fact]
    public void TheDigestOfTokenIdsSeesTheRowBoundariesAndEveryId()
    {
        var digest = StageInputs.Digest([[1, 2], [3]]);

        Assert.Equal(digest, StageInputs.Digest([[1, 2], [3]]));
        Assert.NotEqual(digest, StageInputs.Digest([[1], [2, 3]]));
        Assert.NotEqual(digest, StageInputs.Digest([[1, 2], [4]]));
        Assert.Equal(64, digest.Length);
    }
}
