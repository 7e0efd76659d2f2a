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
/// <para>Several processes may fill one folder at once (<see cref="Shard"/>s of the pass, on shared storage): each part
/// is written under a temporary name and renamed, and the inputs record is created once and never replaced, so a shard
/// of other inputs is refused before it writes a part.</para>
/// </summary>
public sealed class ChunkedStage<T>(string folder, ChunkCodec<T> codec, string inputs, int chunkSize = ChunkedStage.DefaultChunkSize)
{
    /// <summary>The folder's record of what its results were computed from, one line.</summary>
    public const string InputsFile = ChunkedStage.InputsFile;

    public string Folder { get; } = folder;

    /// <summary>
    /// <paramref name="perSource"/> results for each of sources [0, count): <paramref name="compute"/> gets (start, length)
    /// and returns the lists of those sources. Finished chunks (this process's or any shard's) are read back, not recomputed.
    /// </summary>
    public CandidateLists<T> Run(int count, int perSource, Func<int, int, CandidateLists<T>> compute, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken cancel = default) => Pass(count, perSource, compute).Run(progress, cancel);

    /// <summary>The pass over sources [0, count) that <paramref name="compute"/> does, to run whole or as a shard.</summary>
    public ChunkedPass<T> Pass(int count, int perSource, Func<int, int, CandidateLists<T>> compute) => new(this, count, perSource, compute);

    internal int ChunkSize => chunkSize;

    internal string PartPath(int part) => ChunkedStage.PartPath(Folder, part);

    internal CandidateLists<T> ReadPart(string path, int length, int perSource)
    {
        var stored = codec.Read(path);
        if (stored.Length != length * perSource)
            throw NatEmException.In(path, $"holds {stored.Length} results, expected {length * perSource}; delete {Folder} to recompute");
        return new CandidateLists<T>(stored, perSource);
    }

    internal void WritePart(string path, CandidateLists<T> chunk) => codec.Write(path, chunk.Entries);

    /// <summary>The record's line: the inputs, and the chunk size when it is not the default (folders from before it was settable hold the default).</summary>
    private string Record => chunkSize == ChunkedStage.DefaultChunkSize ? inputs : $"{inputs}, chunks of {chunkSize} sources";

    /// <summary>
    /// Stored results are reused only for the inputs they came from: a run resumed with another --distill-from must
    /// not train on the old teacher's translations, and a shard of another plan must not add its parts. The record is
    /// created once (a rename that never replaces), so of shards starting together the first one's inputs stand and
    /// the others compare against them. A folder written before this record existed is adopted as it is.
    /// </summary>
    internal void CheckInputs(bool create)
    {
        var path = Path.Combine(Folder, InputsFile);
        if (!File.Exists(path))
        {
            if (!create) return;
            AtomicFile.WriteNew(path, Record + "\n");
        }
        var stored = File.ReadAllText(path).TrimEnd('\n');
        if (stored != Record)
            throw NatEmException.In(path, $"its results were computed from {stored}, not from {Record}; delete {Folder} to recompute", ExitCodes.Usage);
    }
}

/// <summary>The names a chunked pass's folder holds, and its default chunk size.</summary>
public static class ChunkedStage
{
    /// <summary>Sources per part file unless a run says otherwise (--chunk-size): the unit a pass resumes from and a shard takes.</summary>
    public const int DefaultChunkSize = 1024;

    /// <summary>The folder's record of what its results were computed from, one line.</summary>
    public const string InputsFile = "inputs.txt";

    /// <summary>The file of part <paramref name="part"/> (sources from part × chunk size on) in <paramref name="folder"/>.</summary>
    public static string PartPath(string folder, int part) => Path.Combine(folder, $"part_{part:D5}.bin");

    /// <summary>Whether every part of a pass over <paramref name="count"/> sources in chunks of <paramref name="chunkSize"/> is in <paramref name="folder"/>.</summary>
    public static bool IsFinished(string folder, int count, int chunkSize) =>
        Enumerable.Range(0, (count + chunkSize - 1) / chunkSize).All(part => File.Exists(PartPath(folder, part)));
}

/// <summary>
/// A <see cref="ChunkedStage{T}"/> bound to its computation over sources [0, count): run whole by one process
/// (<see cref="Run"/>: reads the finished parts, computes the missing ones, merges), or one <see cref="Shard"/> at a
/// time (<see cref="RunShard"/>), in as many processes as there are shards.
/// </summary>
public sealed class ChunkedPass<T>
{
    private readonly ChunkedStage<T> stage;
    private readonly int count, perSource;
    private readonly Func<int, int, CandidateLists<T>> compute;

    internal ChunkedPass(ChunkedStage<T> stage, int count, int perSource, Func<int, int, CandidateLists<T>> compute)
    {
        this.stage = stage;
        this.count = count;
        this.perSource = perSource;
        this.compute = compute;
    }

    /// <summary>The number of part files the pass has.</summary>
    public int Parts => (count + stage.ChunkSize - 1) / stage.ChunkSize;

    /// <summary>Every part: those finished (by this process, an earlier one or any shard) read back, the missing ones computed; merged in order.</summary>
    public CandidateLists<T> Run(IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        AtomicFile.CreateDirectory(stage.Folder);
        stage.CheckInputs(create: true);
        var chunks = new List<CandidateLists<T>>();
        for (int part = 0; part < Parts; part++)
        {
            chunks.Add(File.Exists(stage.PartPath(part)) ? Read(part) : Compute(part, cancel));
            progress?.Report((Math.Min(count, (part + 1) * stage.ChunkSize), count));
        }
        return CandidateLists<T>.Concat(chunks, perSource);
    }

    /// <summary>
    /// Only <paramref name="shard"/>'s parts that are not finished yet; the other shards' parts are left to them (or to a
    /// later <see cref="Run"/>, which computes whatever is still missing). Progress counts this shard's sources.
    /// </summary>
    public ShardOutcome RunShard(Shard shard, IProgress<(int Done, int Total)>? progress = null, CancellationToken cancel = default)
    {
        AtomicFile.CreateDirectory(stage.Folder);
        stage.CheckInputs(create: true);
        var own = Enumerable.Range(0, Parts).Where(shard.Owns).ToList();
        int total = own.Sum(Length), done = 0, computed = 0, finished = 0;
        foreach (int part in own)
        {
            if (File.Exists(stage.PartPath(part))) finished++;
            else
            {
                Compute(part, cancel);
                computed++;
            }
            progress?.Report((done += Length(part), total));
        }
        return new ShardOutcome(shard, computed, finished, Enumerable.Range(0, Parts).Count(p => File.Exists(stage.PartPath(p))), Parts);
    }

    /// <summary>The merged results of a pass whose parts are all finished (another pass's shard reads its input this way); computes nothing.</summary>
    public CandidateLists<T> ReadFinished(string stageName)
    {
        stage.CheckInputs(create: false);
        var missing = Enumerable.Range(0, Parts).Where(p => !File.Exists(stage.PartPath(p))).ToList();
        if (missing.Count > 0)
            throw NatEmException.In(stage.Folder, $"{stageName} is not finished: {missing.Count} of its {Parts} parts are missing ({Path.GetFileName(stage.PartPath(missing[0]))} first); "
                + "run its shards, or the run itself with --resume, first", ExitCodes.Usage);
        return CandidateLists<T>.Concat(Enumerable.Range(0, Parts).Select(Read).ToList(), perSource);
    }

    private int Start(int part) => part * stage.ChunkSize;

    private int Length(int part) => Math.Min(stage.ChunkSize, count - Start(part));

    private CandidateLists<T> Read(int part) => stage.ReadPart(stage.PartPath(part), Length(part), perSource);

    private CandidateLists<T> Compute(int part, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        var chunk = compute(Start(part), Length(part));
        if (chunk.SourceCount != Length(part) || chunk.PerSource != perSource)
            throw new InvalidOperationException($"chunk returned {chunk.SourceCount} lists of {chunk.PerSource}, expected {Length(part)} of {perSource}");
        stage.WritePart(stage.PartPath(part), chunk);
        return chunk;
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
