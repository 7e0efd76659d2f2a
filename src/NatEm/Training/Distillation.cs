using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Training;

/// <summary>
/// The AR model's translations of the training sources (knowledge distillation and the EM candidates),
/// computed in length-sorted batches and cached chunk by chunk on disk.
/// </summary>
public static class Distillation
{
    public const int DecodeBatchSize = 64;

    /// <summary>
    /// Sentences decoded together: up to <see cref="DecodeBatchSize"/>, fewer when a batch of the longest source
    /// would exceed the memory budget; a usage error naming <paramref name="option"/> when not even one fits.
    /// </summary>
    public static int BatchSize(TransformerConfig teacher, IReadOnlyList<int[]> sources, int beam, string option, long budget)
    {
        int longest = sources.Count == 0 ? 1 : sources.Max(s => s.Length);
        var search = new BeamSearchOptions { Beam = beam };
        long Bytes(int sentences, int width) => DecodingMemory.BeamSearchBytes(teacher, sentences, width, longest, search.OutputLimit(longest, teacher));
        DecodingMemory.Require(option, beam, width => Bytes(1, width), budget, $"for the longest training source ({longest} tokens)");
        return DecodingMemory.LargestFitting(sentences => Bytes(sentences, beam), DecodeBatchSize, budget);
    }

    /// <summary>
    /// The best beam-search translation of every source. <paramref name="teacherSha256"/> identifies the teacher's
    /// weights (<see cref="ModelStore.WeightsSha256"/>), so that a cache from another teacher is refused.
    /// </summary>
    public static IReadOnlyList<int[]> BestTranslations(ArTransformer teacher, string teacherSha256, IReadOnlyList<int[]> sources, int beam, string folder,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
        NBest(teacher, teacherSha256, sources, beam, nbest: 1, "--distill-beam", folder, progress, cancel).Entries;

    /// <summary>
    /// <paramref name="nbest"/> candidates per source, best first; when the beam finishes fewer, the last one is
    /// repeated so that every source has exactly nbest.
    /// </summary>
    public static CandidateLists<int[]> NBest(ArTransformer teacher, string teacherSha256, IReadOnlyList<int[]> sources, int nbest, string folder,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default) =>
        NBest(teacher, teacherSha256, sources, beam: nbest, nbest, "--nbest", folder, progress, cancel);

    private static CandidateLists<int[]> NBest(ArTransformer teacher, string teacherSha256, IReadOnlyList<int[]> sources, int beam, int nbest, string option, string folder,
        IProgress<(int Done, int Total)>? progress, CancellationToken cancel)
    {
        var search = new BeamSearch(teacher, new BeamSearchOptions { Beam = beam, NBest = nbest });
        int batchSize = BatchSize(teacher.Config, sources, beam, option, DecodingMemory.DefaultBudgetBytes);
        var inputs = StageInputs.Decoding("AR", teacherSha256, $"beam {beam}, {nbest}-best", sources);
        return new ChunkedStage<int[]>(folder, ChunkCodec<int[]>.TokenIds, inputs).Run(sources.Count, nbest, (start, length) =>
        {
            var lists = new IReadOnlyList<int[]>[length];
            var order = Enumerable.Range(start, length).OrderBy(i => sources[i].Length).ToArray();
            foreach (var batch in order.Chunk(batchSize))
            {
                cancel.ThrowIfCancellationRequested();
                var hypotheses = search.Generate(batch.Select(i => sources[i]).ToList());
                for (int j = 0; j < batch.Length; j++)
                    lists[batch[j] - start] = Enumerable.Range(0, nbest).Select(n => hypotheses[j][Math.Min(n, hypotheses[j].Length - 1)].Tokens).ToArray();
            }
            return CandidateLists<int[]>.FromLists(lists);
        }, progress, cancel);
    }
}
