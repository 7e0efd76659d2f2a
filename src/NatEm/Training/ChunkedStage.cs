using NatEm.Data;

namespace NatEm.Training;

/// <summary>How a chunk of results is stored.</summary>
public sealed record ChunkCodec<T>(Action<string, IReadOnlyList<T>> Write, Func<string, T[]> Read)
{
    /// <summary>Token-id rows (TokenIdFile format).</summary>
    public static ChunkCodec<int[]> TokenIds { get; } = new(TokenIdFile.Write, path => TokenIdFile.Read(path, int.MaxValue));

    /// <summary>Little-endian float32 values.</summary>
    public static ChunkCodec<float> Floats { get; } = new(
        (path, values) => AtomicFile.Write(path, s => { using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true); foreach (var v in values) w.Write(v); }),
        path =>
        {
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length % sizeof(float) != 0) throw NatEmException.In(path, "truncated float file; delete it to recompute");
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        });
}

/// <summary>
/// Runs a long per-sentence computation in chunks of sentences and stores every finished chunk atomically under a
/// folder (<c>part_NNNNN.bin</c>, its entries in <see cref="CandidateLists{T}"/> order), so that an interrupted
/// stage resumes after its last finished chunk.
/// </summary>
public sealed class ChunkedStage<T>(string folder, ChunkCodec<T> codec, int chunkSize = 1024)
{
    public string Folder { get; } = folder;

    /// <summary>
    /// <paramref name="perSource"/> results for each of sources [0, count): <paramref name="compute"/> gets (start, length)
    /// and returns the lists of those sources. Finished chunks are read back, not recomputed.
    /// </summary>
    public CandidateLists<T> Run(int count, int perSource, Func<int, int, CandidateLists<T>> compute, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancel = default)
    {
        Directory.CreateDirectory(Folder);
        var chunks = new List<CandidateLists<T>>();
        for (int start = 0, part = 0; start < count; start += chunkSize, part++)
        {
            int length = Math.Min(chunkSize, count - start);
            var path = Path.Combine(Folder, $"part_{part:D5}.bin");
            CandidateLists<T> chunk;
            if (File.Exists(path))
            {
                var stored = codec.Read(path);
                if (stored.Length != length * perSource)
                    throw NatEmException.In(path, $"holds {stored.Length} results, expected {length * perSource}; delete {Folder} to recompute");
                chunk = new CandidateLists<T>(stored, perSource);
            }
            else
            {
                cancel.ThrowIfCancellationRequested();
                chunk = compute(start, length);
                if (chunk.SourceCount != length || chunk.PerSource != perSource)
                    throw new InvalidOperationException($"chunk returned {chunk.SourceCount} lists of {chunk.PerSource}, expected {length} of {perSource}");
                codec.Write(path, chunk.Entries);
            }
            chunks.Add(chunk);
            progress?.Report((start + length, count));
        }
        return CandidateLists<T>.Concat(chunks, perSource);
    }
}
