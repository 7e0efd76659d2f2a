using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Tests.Modeling;

/// <summary>CTC against brute force over every path of tiny grids; collapse on hand-made paths; a CTC model's scores and training.</summary>
public sealed class CtcTests
{
    private const int B = Ctc.Blank;

    /// <summary>Every path of <paramref name="frames"/> frames over <paramref name="vocab"/> tokens.</summary>
    private static IEnumerable<int[]> AllPaths(int frames, int vocab) => frames == 0
        ? [[]]
        : AllPaths(frames - 1, vocab).SelectMany(p => Enumerable.Range(0, vocab).Select(v => (int[])[.. p, v]));

    private static double PathLogProb(float[,] logProbs, int[] path) => path.Select((v, t) => (double)logProbs[t, v]).Sum();

    private static float[,] RandomLogProbs(int frames, int vocab, int seed)
    {
        manual_seed(seed);
        var values = randn(frames, vocab).log_softmax(-1).data<float>().ToArray();
        var table = new float[frames, vocab];
        for (int t = 0; t < frames; t++)
            for (int v = 0; v < vocab; v++) table[t, v] = values[t * vocab + v];
        return table;
    }

    public static TheoryData<int[], int> Targets => new()
    {
        { [4], 3 }, { [4, 5], 4 }, { [4, 4], 4 }, { [5, 4, 5], 5 }, { [], 3 }, { [4, 4, 4], 4 },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void LossEqualsTheBruteForceSumOverAlignments(int[] target, int frames)
    {
        const int vocab = 6;
        var logProbs = RandomLogProbs(frames, vocab, seed: frames * 10 + target.Length);
        var matching = AllPaths(frames, vocab).Where(p => Ctc.Collapse(p).SequenceEqual(target)).Select(p => PathLogProb(logProbs, p)).ToList();
        double bruteForce = matching.Count == 0 ? double.NegativeInfinity : Math.Log(matching.Sum(Math.Exp));

        var input = tensor(Enumerable.Range(0, frames * vocab).Select(i => logProbs[i / vocab, i % vocab]).ToArray(), [1, frames, vocab]);
        var padded = tensor(target.Length == 0 ? [0L] : target.Select(x => (long)x).ToArray(), [1, Math.Max(1, target.Length)]);
        var nll = Ctc.Loss(input, padded, tensor(new long[] { frames }), tensor(new long[] { target.Length }), zeroInfinity: false).item<float>();

        if (matching.Count == 0) Assert.True(float.IsPositiveInfinity(nll), $"unalignable target scored {nll}");
        else Assert.Equal(bruteForce, -nll, 4);
    }

    [Fact]
    public void LossAndGradientEqualLibtorchsCtcLossOverTheWholeVocabulary()
    {
        manual_seed(3);
        long[][] targets = [[4, 4, 5], [7], [5, 6, 6, 6, 4], [8, 5, 8, 8]];   // the blank is 3
        const int frames = 12, vocab = 9;
        var padded = tensor(targets.SelectMany(t => t.Concat(Enumerable.Repeat(0L, 5 - t.Length))).ToArray(), [targets.Length, 5]);
        // [5, 6, 6, 6, 4] needs 7 frames (blanks between the equal labels): over 6 it is unreachable, and zero_infinity drops it.
        var inputLengths = tensor(new long[] { 12, 5, 6, 8 });
        var targetLengths = tensor(targets.Select(t => (long)t.Length).ToArray());
        var logits = randn(targets.Length, frames, vocab);
        var compactInput = logits.clone().requires_grad_(true);
        var fullInput = logits.clone().requires_grad_(true);

        var compact = Ctc.Loss(compactInput.log_softmax(-1), padded, inputLengths, targetLengths, zeroInfinity: true);
        var full = nn.functional.ctc_loss(fullInput.log_softmax(-1).transpose(0, 1), padded, inputLengths, targetLengths, blank: B, zero_infinity: true, reduction: nn.Reduction.None);
        compact.sum().backward();
        full.sum().backward();

        Assert.Equal(full.data<float>().ToArray(), compact.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-4);
        Assert.True(fullInput.grad!.allclose(compactInput.grad!, rtol: 1e-4, atol: 1e-5), "gradients differ");
        Assert.Equal(0, compact.data<float>()[2]);
        using (no_grad())
            Assert.True(float.IsPositiveInfinity(Ctc.Loss(logits.log_softmax(-1), padded, inputLengths, targetLengths, zeroInfinity: false).data<float>()[2]));
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void ViterbiFindsTheBestPathThatCollapsesToTheTarget(int[] target, int frames)
    {
        const int vocab = 6;
        var logProbs = RandomLogProbs(frames, vocab, seed: frames * 7 + target.Length);
        var best = AllPaths(frames, vocab).Where(p => Ctc.Collapse(p).SequenceEqual(target)).MaxBy(p => PathLogProb(logProbs, p));

        var alignment = Ctc.BestAlignment(target, frames, (t, v) => logProbs[t, v]);

        if (best is null) Assert.Null(alignment);
        else
        {
            Assert.NotNull(alignment);
            Assert.Equal(target, Ctc.Collapse(alignment));
            Assert.Equal(PathLogProb(logProbs, best), PathLogProb(logProbs, alignment), 5);
        }
    }

    [Fact]
    public void CollapseMergesRepeatsThenDropsBlanks()
    {
        Assert.Equal([7, 8], Ctc.Collapse([7, 7, B, 8, 8]));
        Assert.Equal([7, 7], Ctc.Collapse([7, B, 7]));
        Assert.Equal([7], Ctc.Collapse([7, 7, 7]));
        Assert.Equal([], Ctc.Collapse([B, B]));
        Assert.Equal([5, 6, 5], Ctc.Collapse([B, 5, 6, 6, B, B, 5, B]));
        Assert.Equal([], Ctc.Collapse([]));
    }

    [Fact]
    public void PrefixBeamOverTheFullVocabularyRanksOutputsByTheirSumOverAlignments()
    {
        const int frames = 4, vocab = 6;
        var logProbs = RandomLogProbs(frames, vocab, seed: 3);
        var byOutput = AllPaths(frames, vocab).GroupBy(p => string.Join(",", Ctc.Collapse(p)))
            .Select(g => (Output: g.Key, LogProb: Math.Log(g.Sum(p => Math.Exp(PathLogProb(logProbs, p)))))).OrderByDescending(o => o.LogProb).ToList();
        var ids = new int[frames * vocab];
        var values = new float[frames * vocab];
        for (int t = 0; t < frames; t++)
        {
            var row = Enumerable.Range(0, vocab).OrderByDescending(v => logProbs[t, v]).ToArray();
            for (int r = 0; r < vocab; r++) (ids[t * vocab + r], values[t * vocab + r]) = (row[r], logProbs[t, row[r]]);
        }

        var beam = CtcDecoding.PrefixBeam(new TopKTable(frames, vocab, ids, values), width: 200);

        Assert.Equal(byOutput[0].Output, string.Join(",", beam[0].Tokens));
        Assert.Equal(byOutput[0].LogProb, beam[0].LogProb, 4);
        Assert.Equal(byOutput[1].LogProb, beam[1].LogProb, 4);
    }

    /// <summary>A grid whose argmax path is <paramref name="path"/> (probability 0.6 per frame; 0.3 for a runner-up token).</summary>
    private static TopKTable Grid(params int[] path) => new(path.Length, 2,
        path.SelectMany(v => (int[])[v, v == B ? 9 : B]).ToArray(), path.SelectMany(_ => (float[])[MathF.Log(0.6f), MathF.Log(0.3f)]).ToArray());

    [Fact]
    public void ACtcOutputsRawTokensAreItsCollapsedOutputSoFrameRepeatsAreNotRepetition()
    {
        // The argmax path 5 5 _ 6 6 6 repeats frames, which collapse merges: output 5 6, no repetition.
        var merged = CtcGenerator.Decode(Grid(5, 5, B, 6, 6, 6), width: 1).Output;
        Assert.Equal([5, 6], merged.Tokens);
        Assert.Equal([5, 6], merged.RawTokens);
        Assert.Equal(2, merged.PredictedLength);
        Assert.Equal(0, OutputStatistics.RepetitionRate([merged.RawTokens]));
        // 5 _ 5 7: a repeat that survives collapse and is printed.
        var repeated = CtcGenerator.Decode(Grid(5, B, 5, 7), width: 1).Output;
        Assert.Equal([5, 5, 7], repeated.Tokens);
        Assert.Equal([5, 5, 7], repeated.RawTokens);
        Assert.Equal(3, repeated.PredictedLength);
        Assert.Equal(0.5, OutputStatistics.RepetitionRate([repeated.RawTokens]));
        // A prefix beam's output likewise: the best of its candidates, collapsed.
        var (beamed, candidates) = CtcGenerator.Decode(Grid(5, 5, B, 5, 7), width: 3);
        Assert.Equal([5, 5, 7], candidates[0].Tokens);
        Assert.Equal(candidates[0].Tokens, beamed.Tokens);
        Assert.Equal([5, 5, 7], beamed.RawTokens);
        Assert.Equal(3, beamed.PredictedLength);
    }

    internal static NarTransformer TinyCtcModel(int seed, int upsample = 2) =>
        (NarTransformer)TranslationModels.Create(ModelKind.NonAutoregressive,
            SyntheticTask.TinyConfig with { NarLoss = NarLoss.Ctc, Upsample = upsample, DecoderInput = NarDecoderInput.UniformCopy }, seed);

    [Fact]
    public void NarScoreOfACtcModelIsTheBruteForceSumOverAlignmentsOfItsOwnGrid()
    {
        var model = TinyCtcModel(seed: 2);
        int[] source = [5, 6];
        int[][] candidates = [[7], [7, 7], [8, 9, 8], [5, 6, 7, 8, 9]];
        var scores = SequenceScoring.NarLogLikelihood(model, candidates.Select(_ => source).ToList(), candidates);

        model.eval();
        using var _ = inference_mode();
        var (logProbs, grid) = model.CtcLogProbs(SequenceTensors.Source([source]));
        int frames = (int)grid.item<long>(), vocab = model.Config.VocabSize;
        Assert.Equal(4, frames);
        var table = logProbs[0].data<float>().ToArray();
        for (int c = 0; c < candidates.Length; c++)
        {
            // Sum over alignments by a forward pass over all V^T paths would be too many; enumerate only paths over
            // the candidate's tokens and the blank, the only ones that can collapse to it.
            int[] alphabet = [B, .. candidates[c].Distinct()];
            var matching = AllPaths(frames, alphabet.Length).Select(p => p.Select(i => alphabet[i]).ToArray())
                .Where(p => Ctc.Collapse(p).SequenceEqual(candidates[c])).ToList();
            double expected = matching.Count == 0 ? double.NegativeInfinity
                : Math.Log(matching.Sum(p => Math.Exp(p.Select((v, t) => (double)table[t * vocab + v]).Sum())));
            if (double.IsNegativeInfinity(expected)) Assert.True(double.IsNegativeInfinity(scores[c]), $"candidate {c} scored {scores[c]}");
            else Assert.Equal(expected, scores[c], 3);
        }
    }

    [Fact]
    public void TheCtcGlancingReferenceIsTheViterbiAlignmentAndCollapsesToTheTarget()
    {
        var model = TinyCtcModel(seed: 4);
        int[][] sources = [[5, 6, 7], [8, 9]];
        int[][] targets = [[10, 10, 11], [12]];
        var pass = model.BeginTraining(sources, targets);
        GlancingReference first;
        using (no_grad()) first = pass.FirstPass();
        var reference = first.Reference.data<long>().ToArray();
        long frames = first.Reference.shape[1];
        Assert.Equal(6, frames);
        for (int b = 0; b < 2; b++)
        {
            int length = (int)first.Mask[b].sum().item<long>();
            var row = reference.Skip(b * (int)frames).Take(length).Select(x => (int)x).ToArray();
            Assert.Equal(targets[b], Ctc.Collapse(row));
        }
        var (loss, stats) = new NarCriterion(0.1, 0.1, new GlancingSchedule { Start = 0.5, End = 0.5 }).Forward(model, sources, targets, update: 0);
        Assert.True(float.IsFinite(loss.item<float>()));
        Assert.Equal(4, stats.Tokens);
        Assert.True(stats.Revealed > 0, "an untrained model's first pass is wrong, so glancing reveals some positions");
    }
}
