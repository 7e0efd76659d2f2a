using NatEm.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// Connectionist temporal classification over a NAR model's R·|x| decoder positions. The blank is <c>&lt;unk&gt;</c>
/// (<see cref="Blank"/>), as in GLAT's CTC code: the vocabulary, and so the tokenizer and every prepared data
/// directory, stay as they are, and a CTC model can start from a length model's embeddings.
/// </summary>
public static class Ctc
{
    public const int Blank = SpecialTokens.Unk;

    /// <summary>
    /// −log p(y | x) per sentence [B], summed over every alignment (TorchSharp's <c>ctc_loss</c>, reduction none):
    /// <paramref name="logProbs"/> [B, T, V], padded <paramref name="targets"/> [B, L]. An unreachable target is +∞,
    /// or 0 with <paramref name="zeroInfinity"/> (its gradient too).
    /// </summary>
    /// <remarks>
    /// CTC reads a frame's log-probabilities only at the blank and at the target's labels, so ctc_loss runs on those
    /// L + 1 gathered columns (column 0 the blank, column i label i) rather than on all V: the same loss and gradient,
    /// without ctc_loss's backward computing every frame's V entries (on CPU 0.6 s of a 9 s update at R = 2). A label
    /// equal to the one before it shares that one's column, because CTC forbids skipping the blank between equal labels.
    /// libtorch's backward returns exp(log p) − posterior for every column of a frame inside the grid, which is right
    /// only for a full, normalized distribution (log_softmax's backward then cancels the exp term); over gathered
    /// columns the exp term is taken back out by a correction whose value is zero and whose gradient is −exp(log p).
    /// </remarks>
    public static Tensor Loss(Tensor logProbs, Tensor targets, Tensor inputLengths, Tensor targetLengths, bool zeroInfinity)
    {
        long batch = logProbs.shape[0], frames = logProbs.shape[1], labels = targets.shape[1];
        var columns = cat([full(batch, 1, Blank, dtype: ScalarType.Int64), targets], 1);
        var compact = logProbs.gather(2, columns.unsqueeze(1).expand(batch, frames, labels + 1));
        var position = arange(1, labels + 1, dtype: ScalarType.Int64).unsqueeze(0).expand(batch, labels);
        var repeatsPrevious = cat([zeros(batch, 1, dtype: ScalarType.Bool), targets.narrow(1, 1, labels - 1).eq(targets.narrow(1, 0, labels - 1))], 1);
        // Each label's column: the first of its run of equal labels (run starts keep their own position; cummax carries it on).
        var compactTargets = where(repeatsPrevious, zeros_like(position), position).cummax(1).values;
        var nll = nn.functional.ctc_loss(compact.transpose(0, 1), compactTargets, inputLengths, targetLengths,
            blank: 0, zero_infinity: zeroInfinity, reduction: nn.Reduction.None);
        if (!compact.requires_grad) return nll;
        // Frames inside each grid, of targets the grid can hold (a label per frame, and a blank between equal labels):
        // libtorch zeroes the gradient of the others (zero_infinity), so their exp term is not there to take out.
        var labelMask = SequenceTensors.LengthMask(targetLengths, labels);
        var framesNeeded = targetLengths + repeatsPrevious.logical_and(labelMask).sum(1, keepdim: false);
        var counted = SequenceTensors.LengthMask(inputLengths, frames).logical_and(framesNeeded.le(inputLengths).unsqueeze(1)).unsqueeze(2);
        var exponentSum = compact.exp().mul(counted).sum([1, 2]);
        return nll - exponentSum + exponentSum.detach();
    }

    /// <summary>
    /// The labels CTC trains and scores for a target: its <c>&lt;unk&gt;</c> tokens dropped, since the blank takes
    /// their id (a CTC model never writes <c>&lt;unk&gt;</c>; prepared data rarely holds one).
    /// </summary>
    public static int[] Labels(int[] target) => Array.IndexOf(target, Blank) < 0 ? target : target.Where(id => id != Blank).ToArray();

    /// <summary>The CTC output of a path: consecutive repeats merged, then blanks removed.</summary>
    public static int[] Collapse(ReadOnlySpan<int> path)
    {
        var tokens = new List<int>(path.Length);
        for (int t = 0; t < path.Length; t++)
            if (path[t] != Blank && (t == 0 || path[t] != path[t - 1])) tokens.Add(path[t]);
        return tokens.ToArray();
    }

    /// <summary>The extended label sequence of CTC's lattice: a blank before, between and after the labels (2L+1 states).</summary>
    public static int[] Extended(IReadOnlyList<int> labels)
    {
        var extended = new int[2 * labels.Count + 1];
        Array.Fill(extended, Blank);
        for (int i = 0; i < labels.Count; i++) extended[2 * i + 1] = labels[i];
        return extended;
    }

    /// <summary>
    /// The Viterbi (best single) alignment of <paramref name="labels"/> to <paramref name="frames"/> frames: the token
    /// (label or blank) at each frame, or null when no path of that many frames collapses to the labels.
    /// <paramref name="logProb"/>(t, token) is the frame's log-probability of a token.
    /// </summary>
    public static int[]? BestAlignment(IReadOnlyList<int> labels, int frames, Func<int, int, float> logProb)
    {
        var extended = Extended(labels);
        int states = extended.Length;
        var score = new double[states];
        var next = new double[states];
        var back = new int[frames, states];
        Array.Fill(score, double.NegativeInfinity);
        if (frames == 0) return labels.Count == 0 ? [] : null;
        score[0] = logProb(0, extended[0]);
        if (states > 1) score[1] = logProb(0, extended[1]);
        for (int t = 1; t < frames; t++)
        {
            for (int s = 0; s < states; s++)
            {
                int from = s;
                double best = score[s];
                if (s >= 1 && score[s - 1] > best) (best, from) = (score[s - 1], s - 1);
                if (s >= 2 && extended[s] != Blank && extended[s] != extended[s - 2] && score[s - 2] > best) (best, from) = (score[s - 2], s - 2);
                next[s] = double.IsNegativeInfinity(best) ? best : best + logProb(t, extended[s]);
                back[t, s] = from;
            }
            (score, next) = (next, score);
        }
        int end = states > 1 && score[states - 2] > score[states - 1] ? states - 2 : states - 1;
        if (double.IsNegativeInfinity(score[end])) return null;
        var path = new int[frames];
        for (int t = frames - 1; t >= 0; t--)
        {
            path[t] = extended[end];
            end = back[t, end];
        }
        return path;
    }

    /// <summary>
    /// Glancing's reference on the grid [B, T]: each target's Viterbi alignment to the log-probabilities [B, T, V]
    /// of a first pass, padding beyond a sentence's grid. A target that cannot be aligned takes the pass's own
    /// <paramref name="predicted"/> tokens, so that it shows no errors and reveals nothing.
    /// </summary>
    public static Tensor AlignedReference(Tensor logProbs, IReadOnlyList<int[]> targets, Tensor gridLengths, Tensor predicted)
    {
        long batch = logProbs.shape[0], frames = logProbs.shape[1];
        int states = 2 * targets.Max(t => t.Length) + 1;
        var extended = tensor(targets.SelectMany(t => Extended(t).Concat(Enumerable.Repeat(Blank, states - (2 * t.Length + 1))).Select(x => (long)x)).ToArray(), [batch, states]);
        var emissions = logProbs.gather(2, extended.unsqueeze(1).expand(batch, frames, states)).data<float>().ToArray();
        var grid = gridLengths.data<long>().ToArray();
        var own = predicted.data<long>().ToArray();
        var reference = new long[batch * frames];
        for (int b = 0; b < batch; b++)
        {
            var labels = targets[b];
            // Frame t's log-probability of a state, read from the gathered emissions (state 2i+1 holds label i, even states the blank).
            long rowStart = b * frames * states;
            int length = (int)Math.Min(grid[b], frames);
            var alignment = BestAlignmentOverStates(labels, length, (t, s) => emissions[rowStart + t * states + s]);
            for (int t = 0; t < frames; t++)
                reference[b * frames + t] = t >= length ? SpecialTokens.Pad : alignment is null ? own[b * frames + t] : alignment[t];
        }
        return tensor(reference, [batch, frames]);
    }

    /// <summary><see cref="BestAlignment"/> with emissions given per lattice state rather than per token.</summary>
    private static int[]? BestAlignmentOverStates(IReadOnlyList<int> labels, int frames, Func<int, int, float> stateLogProb)
    {
        // Distinct tokens may share a state's emission; map token → one state that emits it (equal tokens emit equally).
        var stateOfToken = new Dictionary<int, int> { [Blank] = 0 };
        for (int i = 0; i < labels.Count; i++) stateOfToken.TryAdd(labels[i], 2 * i + 1);
        return BestAlignment(labels, frames, (t, token) => stateLogProb(t, stateOfToken[token]));
    }
}
