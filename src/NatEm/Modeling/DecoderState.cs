using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Incremental decoding cache: the encoder memory projected once per layer, per-layer self-attention keys/values in
/// buffers pre-allocated for <c>maxSteps</c> positions (a step writes one slice instead of concatenating), and the
/// position embeddings of those positions. Beam search reorders and shrinks the rows in place
/// (<see cref="Reorder"/>), copying only the positions decoded so far. The tensors belong to the dispose scope that
/// was open when the state was created; the memory keys and values it replaces are disposed by it.
/// </summary>
public sealed class DecoderState
{
    /// <summary>Self-attention key and value buffers per layer, [rows allocated, heads, maxSteps, headDim] each.</summary>
    private readonly Tensor[] selfKeyBuffers, selfValueBuffers;
    /// <summary>The first <see cref="Rows"/> rows of each buffer (the buffers themselves until rows are dropped).</summary>
    private readonly Tensor[] selfKeys, selfValues;

    public DecoderState((Tensor Keys, Tensor Values)[] memory, Tensor memoryKeyMask, Tensor positions)
    {
        MemoryKeys = memory.Select(m => m.Keys).ToArray();
        MemoryValues = memory.Select(m => m.Values).ToArray();
        MemoryKeyMask = memoryKeyMask;
        Positions = positions;
        var shape = MemoryKeys[0].shape;
        shape[2] = positions.shape[0];
        var dtype = MemoryKeys[0].dtype;
        selfKeyBuffers = MemoryKeys.Select(_ => zeros(shape, dtype)).ToArray();
        selfValueBuffers = MemoryKeys.Select(_ => zeros(shape, dtype)).ToArray();
        selfKeys = [.. selfKeyBuffers];
        selfValues = [.. selfValueBuffers];
        Rows = (int)shape[0];
    }

    public Tensor[] MemoryKeys { get; }
    public Tensor[] MemoryValues { get; }
    public Tensor MemoryKeyMask { get; private set; }
    /// <summary>Position embeddings [maxSteps, d] of the positions this state can decode.</summary>
    public Tensor Positions { get; }
    /// <summary>Positions decoded so far.</summary>
    public int Steps { get; private set; }
    /// <summary>Rows (hypotheses) decoded in parallel.</summary>
    public int Rows { get; private set; }

    internal (Tensor Keys, Tensor Values) AppendSelf(int layer, Tensor keys, Tensor values)
    {
        selfKeys[layer].narrow(2, Steps, 1).copy_(keys);
        selfValues[layer].narrow(2, Steps, 1).copy_(values);
        return (selfKeys[layer].narrow(2, 0, Steps + 1), selfValues[layer].narrow(2, 0, Steps + 1));
    }

    internal void Advance() => Steps++;

    /// <summary>
    /// Keeps the rows <paramref name="rows"/> (ascending positions are not required; a row may repeat), in that
    /// order: row i of the state becomes old row rows[i]. The self-attention cache is rewritten in place over the
    /// positions decoded so far. With <paramref name="sameSentences"/> (rows only reorder hypotheses within the same
    /// sentences, whose encoder memory is identical) the memory is kept as it is; otherwise it is selected too.
    /// </summary>
    public void Reorder(Tensor rows, bool sameSentences)
    {
        int count = (int)rows.shape[0];
        if (count > Rows) throw new ArgumentException($"cannot grow the state from {Rows} to {count} rows", nameof(rows));
        for (int layer = 0; layer < selfKeys.Length; layer++)
        {
            ReorderInPlace(selfKeyBuffers[layer], selfKeys, layer, rows, count);
            ReorderInPlace(selfValueBuffers[layer], selfValues, layer, rows, count);
        }
        Rows = count;
        if (sameSentences) return;
        for (int layer = 0; layer < MemoryKeys.Length; layer++)
        {
            MemoryKeys[layer] = Replace(MemoryKeys[layer], MemoryKeys[layer].index_select(0, rows));
            MemoryValues[layer] = Replace(MemoryValues[layer], MemoryValues[layer].index_select(0, rows));
        }
        // The mask may be the caller's (the encoder output's), so the old one is left to its dispose scope.
        MemoryKeyMask = MemoryKeyMask.index_select(0, rows);
    }

    /// <summary>Writes the selected rows of the decoded positions to the buffer's first rows; <paramref name="views"/>[layer] becomes those rows.</summary>
    private void ReorderInPlace(Tensor buffer, Tensor[] views, int layer, Tensor rows, int count)
    {
        using (var selected = views[layer].narrow(2, 0, Steps).index_select(0, rows))
        using (var target = buffer.narrow(0, 0, count).narrow(2, 0, Steps))
            target.copy_(selected);
        if (count == Rows) return;
        var narrowed = buffer.narrow(0, 0, count);
        if (!ReferenceEquals(views[layer], buffer)) views[layer].Dispose();
        views[layer] = narrowed;
    }

    private static Tensor Replace(Tensor old, Tensor replacement)
    {
        old.Dispose();
        return replacement;
    }
}
