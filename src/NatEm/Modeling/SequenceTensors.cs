using NatEm.Text;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>Turns token-id arrays into padded int64 tensors (pad = <see cref="SpecialTokens.Pad"/>).</summary>
public static class SequenceTensors
{
    /// <summary>[B, maxLen] with optional bos before and eos after every sequence.</summary>
    public static Tensor Pad(IReadOnlyList<int[]> sequences, bool prependBos = false, bool appendEos = false)
    {
        int extra = (prependBos ? 1 : 0) + (appendEos ? 1 : 0);
        int width = Math.Max(1, sequences.Count == 0 ? 0 : sequences.Max(s => s.Length) + extra);
        var data = new long[sequences.Count * width];
        for (int row = 0; row < sequences.Count; row++)
        {
            int at = row * width;
            if (prependBos) data[at++] = SpecialTokens.Bos;
            foreach (var id in sequences[row]) data[at++] = id;
            if (appendEos) data[at] = SpecialTokens.Eos;
        }
        return tensor(data, [sequences.Count, width]);
    }

    /// <summary>Source tensor as every model reads it: tokens then eos, padded.</summary>
    public static Tensor Source(IReadOnlyList<int[]> sources) => Pad(sources, appendEos: true);

    public static Tensor Lengths(IReadOnlyList<int[]> sequences) => tensor(sequences.Select(s => (long)s.Length).ToArray());

    /// <summary>Boolean [B, maxLength], true at positions below each row's length.</summary>
    public static Tensor LengthMask(Tensor lengths, long maxLength) =>
        arange(maxLength, dtype: ScalarType.Int64).unsqueeze(0).lt(lengths.unsqueeze(1));
}
