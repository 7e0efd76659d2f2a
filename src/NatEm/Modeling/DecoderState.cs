using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Incremental decoding cache: the encoder memory projected once per layer, and per-layer self-attention
/// keys/values in buffers pre-allocated for <c>maxSteps</c> positions, so a step writes one slice instead of
/// concatenating. The tensors belong to the dispose scope that was open when the state was created.
/// </summary>
public sealed class DecoderState
{
    private readonly Tensor[] selfKeys, selfValues;

    public DecoderState((Tensor Keys, Tensor Values)[] memory, Tensor memoryKeyMask, int maxSteps)
    {
        MemoryKeys = memory.Select(m => m.Keys).ToArray();
        MemoryValues = memory.Select(m => m.Values).ToArray();
        MemoryKeyMask = memoryKeyMask;
        var shape = MemoryKeys[0].shape;
        shape[2] = maxSteps;
        var dtype = MemoryKeys[0].dtype;
        selfKeys = MemoryKeys.Select(_ => zeros(shape, dtype)).ToArray();
        selfValues = MemoryKeys.Select(_ => zeros(shape, dtype)).ToArray();
    }

    private DecoderState(Tensor[] memoryKeys, Tensor[] memoryValues, Tensor memoryKeyMask, Tensor[] selfKeys, Tensor[] selfValues, int steps)
    {
        MemoryKeys = memoryKeys;
        MemoryValues = memoryValues;
        MemoryKeyMask = memoryKeyMask;
        this.selfKeys = selfKeys;
        this.selfValues = selfValues;
        Steps = steps;
    }

    public Tensor[] MemoryKeys { get; }
    public Tensor[] MemoryValues { get; }
    public Tensor MemoryKeyMask { get; }
    /// <summary>Positions decoded so far.</summary>
    public int Steps { get; private set; }

    internal (Tensor Keys, Tensor Values) AppendSelf(int layer, Tensor keys, Tensor values)
    {
        selfKeys[layer].narrow(2, Steps, 1).copy_(keys);
        selfValues[layer].narrow(2, Steps, 1).copy_(values);
        return (selfKeys[layer].narrow(2, 0, Steps + 1), selfValues[layer].narrow(2, 0, Steps + 1));
    }

    internal void Advance() => Steps++;

    /// <summary>
    /// The cache restricted to (and reordered by) <paramref name="rows"/>, e.g. surviving beams; the new
    /// tensors join the caller's current dispose scope.
    /// </summary>
    public DecoderState Select(Tensor rows) => new(
        MemoryKeys.Select(t => t.index_select(0, rows)).ToArray(),
        MemoryValues.Select(t => t.index_select(0, rows)).ToArray(),
        MemoryKeyMask.index_select(0, rows),
        selfKeys.Select(t => t.index_select(0, rows)).ToArray(),
        selfValues.Select(t => t.index_select(0, rows)).ToArray(),
        Steps);

    /// <summary>All tensors of this state (for moving them between dispose scopes).</summary>
    public IEnumerable<Tensor> Tensors => MemoryKeys.Concat(MemoryValues).Concat(selfKeys).Concat(selfValues).Append(MemoryKeyMask);
}
