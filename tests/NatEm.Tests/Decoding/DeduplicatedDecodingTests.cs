using NatEm.Decoding;
using static NatEm.Tests.Decoding.ScoreTables;

namespace NatEm.Tests.Decoding;

public class DeduplicatedDecodingTests
{
    private const int Seeds = 300;

    [Fact]
    public void OddOverTheWholeVocabularyMatchesBruteForce()
    {
        for (int seed = 0; seed < Seeds; seed++)
        {
            var rng = new Random(seed);
            int vocab = rng.Next(2, 7), length = rng.Next(0, 8);
            var scores = Random(rng, length, vocab, coarse: seed % 3 == 0);

            var odd = DeduplicatedDecoding.Odd(TopK(scores, length, vocab, vocab), candidates: vocab);

            Assert.Equal(length, odd.Tokens.Length);
            Assert.False(HasNeighbourRepeats(odd.Tokens), $"seed {seed}");
            Assert.Equal(Score(scores, vocab, odd.Tokens), odd.LogProb);
            Assert.Equal(BruteForceBest(scores, length, vocab), odd.LogProb);
        }
    }

    // The exactness claim of DeduplicatedDecoding.Odd: three candidates reach the optimum over the whole
    // vocabulary. Coarse scores make ties, where the top-3 is one of several equally valid choices.
    [Fact]
    public void OddOverTheTopThreeIsExactOverTheWholeVocabulary()
    {
        for (int seed = 0; seed < Seeds; seed++)
        {
            var rng = new Random(seed);
            int vocab = rng.Next(3, 7), length = rng.Next(0, 8);
            var scores = seed % 2 == 0 ? Sticky(rng, length, vocab) : Random(rng, length, vocab, coarse: seed % 4 == 1);
            double best = BruteForceBest(scores, length, vocab);

            var fromWideTable = DeduplicatedDecoding.Odd(TopK(scores, length, vocab, vocab));
            var fromTopThree = DeduplicatedDecoding.Odd(TopK(scores, length, vocab, 3));

            Assert.Equal(best, fromWideTable.LogProb);
            Assert.Equal(best, fromTopThree.LogProb);
            Assert.False(HasNeighbourRepeats(fromTopThree.Tokens), $"seed {seed}");
            Assert.Equal(Score(scores, vocab, fromTopThree.Tokens), fromTopThree.LogProb);
        }
    }

    // Position 1 is squeezed between a strong token 0 before it and a strong token 1 after it: its top-2
    // are exactly those two, so only a third candidate avoids sacrificing a neighbour.
    [Fact]
    public void TwoCandidatesAreNotEnoughButThreeAre()
    {
        float[] scores =
        [
            0, -5, -5,
            0, -0.1f, -1,
            -5, 0, -5,
        ];
        var table = TopK(scores, 3, 3, 3);

        var three = DeduplicatedDecoding.Odd(table);
        var two = DeduplicatedDecoding.Odd(table, candidates: 2);

        Assert.Equal([0, 2, 1], three.Tokens);
        Assert.Equal(-1, three.LogProb);
        Assert.Equal(BruteForceBest(scores, 3, 3), three.LogProb);
        Assert.True(two.LogProb < three.LogProb);
    }

    // What ODD is compared with: greedy left-to-right decoding that takes, at each position, the best token
    // of the whole vocabulary that differs from the previous one. It is a feasible length-T sequence (unlike
    // Dedup's shorter output, which has no score at T positions), so the optimum must score at least as high.
    // The unconstrained argmax bounds ODD from above.
    [Fact]
    public void OddNeverRepeatsAndBeatsGreedyDeduplication()
    {
        int argmaxesWithRepeats = 0, strictlyBetterThanGreedy = 0;
        for (int seed = 0; seed < Seeds; seed++)
        {
            var rng = new Random(seed);
            int vocab = 50, length = rng.Next(1, 31);
            var scores = Sticky(rng, length, vocab);
            var table = TopK(scores, length, vocab, 5);

            var odd = DeduplicatedDecoding.Odd(table);
            var argmax = DeduplicatedDecoding.Argmax(table);
            double greedy = Score(scores, vocab, GreedyWithoutRepeats(scores, length, vocab));

            Assert.False(HasNeighbourRepeats(odd.Tokens), $"seed {seed}");
            Assert.True(odd.LogProb >= greedy, $"seed {seed}: ODD {odd.LogProb} < greedy {greedy}");
            Assert.True(odd.LogProb <= Score(scores, vocab, argmax), $"seed {seed}");
            if (HasNeighbourRepeats(argmax)) argmaxesWithRepeats++;
            if (odd.LogProb > greedy) strictlyBetterThanGreedy++;
        }
        // The tables must exercise the constraint, and greedy must be beatable, for the checks to mean anything.
        Assert.True(argmaxesWithRepeats > Seeds / 2, $"{argmaxesWithRepeats} argmaxes with repeats");
        Assert.True(strictlyBetterThanGreedy > 0);
    }

    [Fact]
    public void OddReturnsTheArgmaxWhenItHasNoRepeats()
    {
        int checkedTables = 0;
        for (int seed = 0; seed < Seeds; seed++)
        {
            var rng = new Random(seed);
            int vocab = rng.Next(2, 10), length = rng.Next(0, 12);
            var scores = Random(rng, length, vocab, coarse: seed % 2 == 0);
            var table = TopK(scores, length, vocab, Math.Min(vocab, 4));
            var argmax = DeduplicatedDecoding.Argmax(table);
            if (HasNeighbourRepeats(argmax)) continue;
            checkedTables++;

            var odd = DeduplicatedDecoding.Odd(table);

            Assert.Equal(argmax, odd.Tokens);
            Assert.Equal(Score(scores, vocab, argmax), odd.LogProb);
        }
        Assert.True(checkedTables > Seeds / 4, $"only {checkedTables} tables checked");
    }

    // Both [7, 8] and [8, 7] score -2; the tie goes to the better-ranked candidates, i.e. the argmax.
    [Fact]
    public void TiesAtTheTopResolveToTheArgmax()
    {
        var table = new TopKTable(2, 2, new[] { 7, 8, 8, 7 }, new[] { -1f, -1f, -1f, -1f });

        Assert.Equal([7, 8], DeduplicatedDecoding.Odd(table).Tokens);
    }

    [Fact]
    public void ARepeatedArgmaxGivesWayToAnEquallyGoodToken()
    {
        var table = new TopKTable(2, 2, new[] { 5, 9, 5, 6 }, new[] { -1f, -3f, -1f, -1f });

        var odd = DeduplicatedDecoding.Odd(table);

        Assert.Equal([5, 6], odd.Tokens);
        Assert.Equal(-2, odd.LogProb);
    }

    [Fact]
    public void AllScoresTiedGivesAFeasibleDeterministicSequence()
    {
        const int length = 6;
        var ids = new int[length * 3];
        for (int i = 0; i < ids.Length; i++) ids[i] = 10 + i % 3;
        var table = new TopKTable(length, 3, ids, Enumerable.Repeat(-2f, ids.Length).ToArray());

        var first = DeduplicatedDecoding.Odd(table);
        var second = DeduplicatedDecoding.Odd(table);

        Assert.False(HasNeighbourRepeats(first.Tokens));
        Assert.Equal(-2.0 * length, first.LogProb);
        Assert.Equal(first.Tokens, second.Tokens);
    }

    [Fact]
    public void EmptySentence()
    {
        var table = new TopKTable(0, 3, Array.Empty<int>(), Array.Empty<float>());

        Assert.Empty(DeduplicatedDecoding.Argmax(table));
        Assert.Empty(DeduplicatedDecoding.Dedup(table));
        var odd = DeduplicatedDecoding.Odd(table);
        Assert.Empty(odd.Tokens);
        Assert.Equal(0, odd.LogProb);
    }

    [Fact]
    public void OneTokenSentenceTakesTheTopCandidate()
    {
        var table = new TopKTable(1, 3, new[] { 4, 2, 9 }, new[] { -0.5f, -1f, -2f });

        Assert.Equal([4], DeduplicatedDecoding.Argmax(table));
        Assert.Equal([4], DeduplicatedDecoding.Dedup(table));
        var odd = DeduplicatedDecoding.Odd(table);
        Assert.Equal([4], odd.Tokens);
        Assert.Equal(-0.5, odd.LogProb);
    }

    [Fact]
    public void SingleCandidateTablesDecodeOnlyWithoutRepeats()
    {
        var distinct = new TopKTable(3, 1, new[] { 1, 2, 1 }, new[] { -1f, -1f, -1f });
        var repeatedAtTheEnd = new TopKTable(3, 1, new[] { 1, 2, 2 }, new[] { -1f, -1f, -1f });
        // The dead end at position 1 must not be extended to position 2, whose token differs again.
        var repeatedInside = new TopKTable(3, 1, new[] { 1, 1, 2 }, new[] { -1f, -1f, -1f });

        Assert.Equal([1, 2, 1], DeduplicatedDecoding.Odd(distinct).Tokens);
        Assert.Throws<ArgumentException>(() => DeduplicatedDecoding.Odd(repeatedAtTheEnd));
        Assert.Throws<ArgumentException>(() => DeduplicatedDecoding.Odd(repeatedInside));
    }

    // Masked tokens score -inf; when the only way to avoid a repeat goes through one, it is still a solution.
    [Fact]
    public void NegativeInfinityScoresRemainUsable()
    {
        var table = new TopKTable(2, 2, new[] { 3, 4, 3, 4 }, new[] { 0f, float.NegativeInfinity, 0f, float.NegativeInfinity });

        var odd = DeduplicatedDecoding.Odd(table);

        Assert.Equal([4, 3], odd.Tokens);
        Assert.Equal(double.NegativeInfinity, odd.LogProb);
    }

    [Fact]
    public void ArgmaxAndDedupOnAHandMadeTable()
    {
        int[] top = [5, 5, 7, 7, 7, 5, 9];
        var ids = new int[top.Length * 2];
        var logProbs = new float[top.Length * 2];
        for (int t = 0; t < top.Length; t++)
        {
            (ids[2 * t], ids[2 * t + 1]) = (top[t], 100 + t);
            (logProbs[2 * t], logProbs[2 * t + 1]) = (-1, -2);
        }
        var table = new TopKTable(top.Length, 2, ids, logProbs);

        Assert.Equal(top, DeduplicatedDecoding.Argmax(table));
        Assert.Equal([5, 7, 5, 9], DeduplicatedDecoding.Dedup(table));
    }

    [Fact]
    public void BatchDecodesEachSentenceAndIgnoresPadding()
    {
        int[] lengths = [3, 0, 1, 5];
        const int maxLength = 5, k = 3, vocab = 8;
        var rng = new Random(42);
        var ids = new int[lengths.Length * maxLength * k];
        var logProbs = new float[ids.Length];
        Array.Fill(logProbs, float.NaN); // padding: would fail validation if it were read
        var expected = new DecodedSentence[lengths.Length];
        for (int b = 0; b < lengths.Length; b++)
        {
            var table = TopK(Sticky(rng, lengths[b], vocab), lengths[b], vocab, k);
            table.Ids.CopyTo(ids.AsMemory(b * maxLength * k));
            table.LogProbs.CopyTo(logProbs.AsMemory(b * maxLength * k));
            expected[b] = DeduplicatedDecoding.Odd(table);
        }

        var decoded = DeduplicatedDecoding.Odd(new TopKBatch(lengths, maxLength, k, ids, logProbs));

        Assert.Equal(lengths.Length, decoded.Length);
        for (int b = 0; b < lengths.Length; b++)
        {
            Assert.Equal(expected[b].Tokens, decoded[b].Tokens);
            Assert.Equal(expected[b].LogProb, decoded[b].LogProb);
        }
    }

    [Fact]
    public void MalformedTablesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new TopKTable(2, 2, new int[4], new float[3]));
        Assert.Throws<ArgumentException>(() => new TopKTable(1, 2, new[] { 1, 2 }, new[] { -2f, -1f }));
        Assert.Throws<ArgumentException>(() => new TopKTable(1, 2, new[] { 1, 2 }, new[] { float.NaN, -1f }));
        Assert.Throws<ArgumentException>(() => new TopKBatch([3], 2, 1, new int[2], new float[2]));
        Assert.Throws<ArgumentException>(() => new TopKBatch([1, 1], 2, 1, new int[2], new float[2]));
    }
}
