using NatEm.Data;
using NatEm.IO;

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
/// stage resumes after its last finished chunk. <paramref name="inputs"/> names what the results are computed from
/// (model weights, options, data; see <see cref="StageInputs"/>): a folder computed from other inputs is refused.
/// </summary>
public sealed class ChunkedStage<T>(string folder, ChunkCodec<T> codec, string inputs, int chunkSize = 1024)
{
    /// <summary>The folder's record of what its results were computed from, one line.</summary>
    public const string InputsFile = "inputs.txt";

    public string Folder { get; } = folder;

    /// <summary>
    /// <paramref name="perSource"/> results for each of sources [0, count): <paramref name="compute"/> gets (start, length)
    /// and returns the lists of those sources. Finished chunks are read back, not recomputed.
    /// </summary>
    public CandidateLists<T> Run(int count, int perSource, Func<int, int, CandidateLists<T>> compute, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancel = default)
    {
        Directory.CreateDirectory(Folder);
        CheckInputs();
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

    /// <summary>
    /// Stored results are reused only for the inputs they came from: a run resumed with another --distill-from must
    /// not train on the old teacher's translations. A folder written before this record existed is adopted as it is.
    /// </summary>
    private void CheckInputs()
    {
        var path = Path.Combine(Folder, InputsFile);
        if (!File.Exists(path))
        {
            AtomicFile.WriteAllText(path, inputs + "\n");
            return;
        }
        var stored = File.ReadAllText(path).TrimEnd('\n');
        if (stored != inputs)
            throw NatEmException.In(path, $"its results were computed from {stored}, not from {inputs}; delete {Folder} to recompute", ExitCodes.Usage);
    }
}

/// <summary>The one-line descriptions of a <see cref="ChunkedStage{T}"/>'s inputs: SHA-256 digests of weights and token ids.</summary>
public static class StageInputs
{
    /// <summary>A digest of token-id rows (their lengths and ids), e.g. the training sources a pass decodes.</summary>
    public static string Digest(IEnumerable<int[]> rows)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var row in rows)
        {
            hash.AppendData(BitConverter.GetBytes(row.Length));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>"AR model {weights digest}, beam 4, 1-best of 29045 sources {digest}" and the like.</summary>
    public static string Decoding(string kind, string weightsSha256, string what, IReadOnlyList<int[]> sources) =>
        $"{kind} model weights sha256 {weightsSha256}, {what} of {sources.Count} sources sha256 {Digest(sources)}";
}
