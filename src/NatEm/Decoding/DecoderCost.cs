using NatEm.Modeling;

namespace NatEm.Decoding;

/// <summary>Arithmetic (FLOPs) and memory traffic (bytes) of a piece of decoding work.</summary>
public readonly record struct WorkCost(double Flops, double Bytes)
{
    public static WorkCost operator +(WorkCost a, WorkCost b) => new(a.Flops + b.Flops, a.Bytes + b.Bytes);
}

/// <summary>
/// A simple cost model of one sentence's decoding, from the architecture and mean lengths. Notation:
/// d = ModelDim, f = FeedForwardDim, V = VocabSize, E/D = encoder/decoder layers, S = source tokens + eos,
/// T = target positions decoded. A matrix product of m×k by k×n costs 2mkn FLOPs.
/// <list type="bullet">
/// <item>encoder, per layer: 2S(4d² + 2df) for the Q/K/V/O projections and the feed-forward block, plus 4S²d for
/// attention scores and weighted values;</item>
/// <item>decoder over T positions, per layer: 2T(6d² + 2df) (self Q/K/V/O, encoder-attention Q/O, feed-forward),
/// plus 2S·2d² to project the encoder memory to keys and values, plus 4T(T' + S)d attention, where T' is the number
/// of positions each one attends to (T without a cache, the step number with one);</item>
/// <item>output projection: 2TdV.</item>
/// </list>
/// Bytes count fp32 weight matrices (biases and layer norms are under 1% and left out) read from memory: every
/// weight once per pass; for AR decoding with a key/value cache, the per-step weights (decoder without the memory
/// key/value projections, plus the output projection) once per step, because each step depends on the last.
/// A model small enough to stay in cache can beat the bandwidth term, so the floor is an estimate, not a bound.
/// </summary>
public static class DecoderCost
{
    private const double BytesPerWeight = sizeof(float);

    /// <summary>
    /// One parallel forward pass: the encoder over the source once, then a decoder over all T target positions of
    /// each of <paramref name="candidates"/> candidates, with the output projection (NAR decoding, or AR teacher-forced scoring).
    /// </summary>
    public static WorkCost ParallelPass(TransformerConfig c, double sourceTokens, double targetPositions, int candidates = 1)
    {
        double s = sourceTokens + 1, t = targetPositions;
        double flops = EncoderFlops(c, s) + candidates * (
            c.DecoderLayers * (DecoderPositionFlops(c, t, s) + 4 * t * t * c.ModelDim + MemoryProjectionFlops(c, s))
            + OutputFlops(c, t));
        double bytes = BytesPerWeight * (EncoderWeights(c) + c.DecoderLayers * (StepWeightsPerLayer(c) + MemoryWeightsPerLayer(c)) + OutputWeights(c));
        return new WorkCost(flops, bytes);
    }

    /// <summary>
    /// One AR sentence with a key/value cache: the encoder once, then <paramref name="steps"/> single-position decoder
    /// steps (step i attends to i positions) for each of <paramref name="beam"/> hypotheses.
    /// </summary>
    public static WorkCost ArSentence(TransformerConfig c, double sourceTokens, double steps, int beam)
    {
        double s = sourceTokens + 1, d = c.ModelDim;
        double selfAttention = 4 * d * steps * (steps + 1) / 2; // Σ_{i=1..steps} 4·i·d
        double decoderFlops = c.DecoderLayers * (DecoderPositionFlops(c, steps, s) + selfAttention + MemoryProjectionFlops(c, s)) + OutputFlops(c, steps);
        double flops = EncoderFlops(c, s) + beam * decoderFlops;
        double bytes = BytesPerWeight * (EncoderWeights(c) + c.DecoderLayers * MemoryWeightsPerLayer(c)
            + steps * (c.DecoderLayers * StepWeightsPerLayer(c) + OutputWeights(c)));
        return new WorkCost(flops, bytes);
    }

    private static double EncoderFlops(TransformerConfig c, double s) =>
        c.EncoderLayers * (2 * s * (4.0 * c.ModelDim * c.ModelDim + 2.0 * c.ModelDim * c.FeedForwardDim) + 4 * s * s * c.ModelDim);

    /// <summary>Projections, encoder attention and feed-forward of <paramref name="t"/> decoder positions in one layer (self-attention scores excluded).</summary>
    private static double DecoderPositionFlops(TransformerConfig c, double t, double s) =>
        2 * t * (6.0 * c.ModelDim * c.ModelDim + 2.0 * c.ModelDim * c.FeedForwardDim) + 4 * t * s * c.ModelDim;

    private static double MemoryProjectionFlops(TransformerConfig c, double s) => 2 * s * 2.0 * c.ModelDim * c.ModelDim;

    private static double OutputFlops(TransformerConfig c, double t) => 2 * t * c.ModelDim * (double)c.VocabSize;

    private static double EncoderWeights(TransformerConfig c) =>
        c.EncoderLayers * (4.0 * c.ModelDim * c.ModelDim + 2.0 * c.ModelDim * c.FeedForwardDim);

    private static double StepWeightsPerLayer(TransformerConfig c) => 6.0 * c.ModelDim * c.ModelDim + 2.0 * c.ModelDim * c.FeedForwardDim;

    private static double MemoryWeightsPerLayer(TransformerConfig c) => 2.0 * c.ModelDim * c.ModelDim;

    private static double OutputWeights(TransformerConfig c) => (double)c.ModelDim * c.VocabSize;
}
