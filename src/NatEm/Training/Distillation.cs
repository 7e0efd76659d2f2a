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
    /// The pass that finds the best beam-search translation of every source (its results' entries, one per source).
    /// <paramref name="teacherSha256"/> identifies the teacher's weights (<see cref="ModelStore.WeightsSha256"/>), so
    /// that a cache from another teacher is refused; <paramref name="teacher"/> is called (loaded) only if a part is computed.
    /// <paramref name="cancel"/> is checked between batches.
    /// </summary>
    public static ChunkedPass<int[]> BestTranslations(Func<ArTransformer> teacher, string teacherSha256, IReadOnlyList<int[]> sources, int beam, string folder,
        int chunkSize = ChunkedStage.DefaultChunkSize, CancellationToken cancel = default) =>
        Pass(teacher, teacherSha256, sources, beam, nbest: 1, "--distill-beam", folder, chunkSize, cancel);

    /// <summary>
    /// The pass that finds <paramref name="nbest"/> candidates per source, best first; when the beam finishes fewer,
    /// the last one is repeated so that every source has exactly nbest.
    /// </summary>
    public static ChunkedPass<int[]> NBest(Func<ArTransformer> teacher, string teacherSha256, IReadOnlyList<int[]> sources, int nbest, string folder,
        int chunkSize = ChunkedStage.DefaultChunkSize, CancellationToken cancel = default) =>
        Pass(teacher, teacherSha256, sources, beam: nbest, nbest, "--nbest", folder, chunkSize, cancel);

    private static ChunkedPass<int[]> Pass(Func<ArTransformer> teacher, string teacherSha256, IReadOnlyList<int[]> sources, int beam, int nbest, string option, string folder,
        int chunkSize, CancellationToken cancel)
    {
        var inputs = StageInputs.Decoding("AR", teacherSha256, $"beam {beam}, {nbest}-best", sources);
        (BeamSearch Search, int BatchSize)? decoder = null;
        return new ChunkedStage<int[]>(folder, ChunkCodec<int[]>.TokenIds, inputs, chunkSize).Pass(sources.Count, nbest, (start, length) =>
        {
            if (decoder is null)
            {
                var model = teacher();
                decoder = (new BeamSearch(model, new BeamSearchOptions { Beam = beam, NBest = nbest }), BatchSize(model.Config, sources, beam, option, DecodingMemory.DefaultBudgetBytes));
            }
            var (search, batchSize) = decoder.Value;
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
        });
    }
}
