using NatEm.Data;

namespace NatEm.Em;

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
/// Runs a long per-sentence computation in chunks and stores every finished chunk atomically under a
/// folder (<c>part_NNNNN.bin</c>), so that an interrupted stage resumes after its last finished chunk.
/// </summary>
public sealed class ChunkedStage<T>(string folder, ChunkCodec<T> codec, int chunkSize = 1024)
{
    public string Folder { get; } = folder;

    /// <summary>
    /// Results for items [0, count): <paramref name="compute"/> gets (start, length) and returns
    /// <paramref name="resultsPerItem"/>·length values. Finished chunks are read back, not recomputed.
    /// </summary>
    public T[] Run(int count, int resultsPerItem, Func<int, int, IReadOnlyList<T>> compute, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancel = default)
    {
        Directory.CreateDirectory(Folder);
        var results = new List<T>(count * resultsPerItem);
        for (int start = 0, part = 0; start < count; start += chunkSize, part++)
        {
            int length = Math.Min(chunkSize, count - start);
            var path = Path.Combine(Folder, $"part_{part:D5}.bin");
            IReadOnlyList<T> chunk;
            if (File.Exists(path))
            {
                chunk = codec.Read(path);
                if (chunk.Count != length * resultsPerItem)
                    throw NatEmException.In(path, $"holds {chunk.Count} results, expected {length * resultsPerItem}; delete {Folder} to recompute");
            }
            else
            {
                cancel.ThrowIfCancellationRequested();
                chunk = compute(start, length);
                if (chunk.Count != length * resultsPerItem)
                    throw new InvalidOperationException($"chunk returned {chunk.Count} results, expected {length * resultsPerItem}");
                codec.Write(path, chunk);
            }
            results.AddRange(chunk);
            progress?.Report((start + length, count));
        }
        return [.. results];
    }
}
