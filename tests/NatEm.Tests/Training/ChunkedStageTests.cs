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
        Assert.Equal(TeacherA + "\n", File.ReadAllText(Path.Combine(folder, ChunkedStage<float>.InputsFile)));
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
