using System.Globalization;

namespace NatEm.Training;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a long decoding pass (<c>--shard i/n</c>): the parts
/// <c>part_NNNNN.bin</c> of a <see cref="ChunkedStage{T}"/> whose number p has p ≡ i (mod n).
/// <para>Whole parts, not every n-th source: a part is decoded in length-sorted batches of its own sources, so a shard
/// writes the very file one process would (the merge is byte-identical), and any mix of shards, of any n, and of the
/// plain run fills the same folder. Parts dealt out in turn rather than in contiguous ranges: the training split keeps
/// its corpus order, in which sentence lengths come in long stretches (in the Bible, short verses in the poetry books), so a
/// contiguous range would give one shard the long sentences; dealt in turn, every shard gets parts from every stretch
/// and the shards' work differs by at most about one part.</para>
/// </summary>
public readonly record struct Shard
{
    public Shard(int index, int count)
    {
        if (count < 1 || index < 0 || index >= count)
            throw new NatEmException($"--shard {index}/{count}: expected i/n with n ≥ 1 and 0 ≤ i < n", ExitCodes.Usage);
        Index = index;
        Count = count;
    }

    /// <summary>i, from 0.</summary>
    public int Index { get; }
    /// <summary>n, the number of shards.</summary>
    public int Count { get; }

    /// <summary>Whether part <paramref name="part"/> of a pass is this shard's.</summary>
    public bool Owns(int part) => part % Count == Index;

    /// <summary>"i/n", as written on the command line (a Kubernetes completion index or a Slurm array task id for i).</summary>
    public static Shard Parse(string text)
    {
        var pieces = text.Split('/');
        if (pieces.Length == 2 && int.TryParse(pieces[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && int.TryParse(pieces[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            return new Shard(index, count);
        throw new NatEmException($"--shard {text}: expected i/n, e.g. 0/16 (shard i of n, 0 ≤ i < n)", ExitCodes.Usage);
    }

    public override string ToString() => $"{Index.ToString(CultureInfo.InvariantCulture)}/{Count.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>What one shard of a pass did: parts it computed, parts of its own it found finished, and the parts of the pass present now.</summary>
public sealed record ShardOutcome(Shard Shard, int Computed, int AlreadyFinished, int PartsPresent, int PartsTotal)
{
    public override string ToString() =>
        $"shard {Shard}: computed {Computed} part(s), {AlreadyFinished} already finished; {PartsPresent} of the pass's {PartsTotal} parts are finished";
}
