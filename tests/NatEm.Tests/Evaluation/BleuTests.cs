using NatEm.Evaluation;

namespace NatEm.Tests.Evaluation;

/// <summary>
/// Expectations from sacreBLEU 2.x's test/test_bleu.py and its README, with the tolerances those use.
/// </summary>
public class BleuTests
{
    // test_bleu.py's EPSILON.
    private const double Epsilon = 1e-8;

    // The README example that test_bleu.py scores: three hypotheses, two reference streams.
    private static readonly string[] Hypotheses =
        ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
    private static readonly string[] References1 =
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."];
    private static readonly string[] References2 =
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."];

    /// <summary>sacreBLEU's compat <c>raw_corpus_bleu</c>: no tokenization, floor smoothing, effective order.</summary>
    private static Bleu RawCorpusBleu(double? floor = 0.1) => new(new BleuOptions
    {
        Tokenizer = BleuTokenizer.FromName("none"),
        Smoothing = BleuSmoothing.Floor,
        SmoothValue = floor,
        EffectiveOrder = true,
    });

    public static TheoryData<string[], string[], double> RawBleuCases => new()
    {
        // No match at any order is 0 whatever the smoothing (sacreBLEU #141).
        { ["this is a test", "another test"], ["ref1", "ref2"], 0.0 },
        { ["this is a test"], ["this is a test"], 1.0 },
        { ["this is a fest"], ["this is a test"], 0.223606797749979 },
    };

    [Theory]
    [MemberData(nameof(RawBleuCases))]
    public void RawCorpusBleuMatchesSacreBleu(string[] hypotheses, string[] references, double expected)
    {
        Assert.Equal(expected, RawCorpusBleu(0.01).CorpusScore(hypotheses, references).Score / 100, Epsilon);
    }

    public static TheoryData<string[], BleuOptions, double> CorpusBleuCases => new()
    {
        { Hypotheses, new BleuOptions(), 48.530827 },
        // Empty hypotheses are scored, not dropped.
        { ["", "", ""], new BleuOptions(), 0.0 },
        { Hypotheses, new BleuOptions { Tokenizer = BleuTokenizer.FromName("none") }, 49.1919566 },
        { Hypotheses, new BleuOptions { Tokenizer = BleuTokenizer.FromName("13a") }, 48.530827 },
        { Hypotheses, new BleuOptions { Tokenizer = BleuTokenizer.FromName("intl") }, 43.91623493 },
        { Hypotheses, new BleuOptions { Smoothing = BleuSmoothing.None }, 48.530827 },
    };

    [Theory]
    [MemberData(nameof(CorpusBleuCases))]
    public void CorpusBleuMatchesSacreBleu(string[] hypotheses, BleuOptions options, double expected)
    {
        Assert.Equal(expected, new Bleu(options).CorpusScore(hypotheses, References1, References2).Score, Epsilon);
    }

    [Theory]
    [InlineData(new[] { "test" }, new[] { "a test" }, 0.3678794411714425)]
    [InlineData(new[] { "a test" }, new[] { "a test" }, 1.0)]
    [InlineData(new[] { "a little test" }, new[] { "a test" }, 0.03218297948685433)]
    public void EffectiveOrderMatchesSacreBleu(string[] hypotheses, string[] references, double expected)
    {
        Assert.Equal(expected, RawCorpusBleu(0.01).CorpusScore(hypotheses, references).Score / 100, Epsilon);
    }

    [Fact]
    public void StatisticsMatchSacreBleu()
    {
        var score = RawCorpusBleu(0.01).CorpusScore(["am I am a character sequence"], ["I am a symbol string sequence a a"]);

        Assert.Equal([4L, 2, 1, 0], score.Counts);
        Assert.Equal([6L, 5, 4, 3], score.Totals);
        Assert.Equal(6, score.SysLen);
        Assert.Equal(8, score.RefLen);
    }

    [Fact]
    public void FloorOffsetMatchesSacreBleu()
    {
        string[] hypothesis = ["am I am a character sequence"], reference = ["I am a symbol string sequence a a"];

        Assert.Equal(0, RawCorpusBleu(0.0).CorpusScore(hypothesis, reference).Score / 100, Epsilon);
        Assert.Equal(0.1555722182, RawCorpusBleu(null).CorpusScore(hypothesis, reference).Score / 100, Epsilon);
        Assert.Equal(0.1555722182, RawCorpusBleu().CorpusScore(hypothesis, reference).Score / 100, Epsilon);
    }

    [Fact]
    public void ScoreFromStatisticsMatchesSacreBleuComputeBleu()
    {
        // compute_bleu's own default smoothing is "none".
        var bleu = new Bleu(new BleuOptions { Smoothing = BleuSmoothing.None });

        var score = bleu.ScoreFromStatistics(new BleuStatistics(11, 11, [9, 7, 5, 3], [10, 8, 6, 4]));

        Assert.Equal(0.8375922397, score.Score / 100, Epsilon);
    }

    public static TheoryData<long[], long[], long, long, double> DegenerateStatistics => new()
    {
        { [0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0 },
        { [0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0 },
        { [0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0 },
        { [6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0 },
        { [0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1 },
        { [0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01 },
    };

    [Theory]
    [MemberData(nameof(DegenerateStatistics))]
    public void DegenerateStatisticsScoreExactlyZero(long[] correct, long[] total, long sysLen, long refLen, double floor)
    {
        var bleu = new Bleu(new BleuOptions { Smoothing = BleuSmoothing.Floor, SmoothValue = floor });

        Assert.Equal(0.0, bleu.ScoreFromStatistics(new BleuStatistics(sysLen, refLen, correct, total)).Score);
    }

    [Theory]
    [InlineData(1, "77.65")]
    [InlineData(2, "60.50")]
    [InlineData(3, "53.93")]
    [InlineData(4, "48.53")]
    [InlineData(5, "46.14")]
    [InlineData(6, "43.28")]
    public void MaxNgramOrderMatchesSacreBleu(int order, string expected)
    {
        var score = new Bleu(new BleuOptions { MaxNgramOrder = order }).CorpusScore(Hypotheses, References1, References2);

        Assert.Equal(expected, score.FormatScore(2));
    }

    [Fact]
    public void FormatsAsTheSacreBleuReadmeShows()
    {
        var score = new Bleu().CorpusScore(Hypotheses, References1, References2);

        Assert.Equal("BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)", score.ToString());
        Assert.Equal("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3", score.Signature);
        Assert.Equal(
            "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3 = 48.5 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)",
            score.Format(width: 1, withSignature: true));
    }

    [Fact]
    public void EmptyReferenceSegmentAddsNothingAsInTheReadmeVariableReferenceExample()
    {
        string[] firstStreamWithoutFirstReference = ["", "It was not unexpected.", "The man bit him first."];

        var score = new Bleu().CorpusScore(Hypotheses, firstStreamWithoutFirstReference, References2);

        Assert.Equal("BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)", score.ToString());
    }

    [Theory]
    [InlineData(BleuSmoothing.Exp, null, false, false, "13a", "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3")]
    [InlineData(BleuSmoothing.None, null, false, false, "13a", "nrefs:1|case:mixed|eff:no|tok:13a|smooth:none|version:2.4.3")]
    [InlineData(BleuSmoothing.Floor, null, false, false, "13a", "nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.4.3")]
    [InlineData(BleuSmoothing.AddK, null, true, true, "intl", "nrefs:1|case:lc|eff:yes|tok:intl|smooth:add-k[1.00]|version:2.4.3")]
    [InlineData(BleuSmoothing.AddK, 2.0, false, true, "char", "nrefs:1|case:mixed|eff:yes|tok:char|smooth:add-k[2.00]|version:2.4.3")]
    public void SignatureIsFormattedAsSacreBleuDoes(
        BleuSmoothing smoothing, double? value, bool lowercase, bool effectiveOrder, string tokenizer, string expected)
    {
        var bleu = new Bleu(new BleuOptions
        {
            Smoothing = smoothing,
            SmoothValue = value,
            Lowercase = lowercase,
            EffectiveOrder = effectiveOrder,
            Tokenizer = BleuTokenizer.FromName(tokenizer),
        });

        Assert.Equal(expected, bleu.SentenceScore("a b", "a b").Signature);
    }

    [Fact]
    public void PrecisionsRoundHalfToEvenLikePythonFormat()
    {
        // 100 * 1/16 = 6.25 exactly: Python's f"{6.25:.1f}" is "6.2", not "6.3".
        var score = new Bleu().ScoreFromStatistics(new BleuStatistics(16, 16, [1, 0, 0, 0], [16, 15, 14, 13]));

        Assert.StartsWith("6.2/", score.Verbose);
    }

    [Theory]
    [InlineData("exp", BleuSmoothing.Exp)]
    [InlineData("floor", BleuSmoothing.Floor)]
    [InlineData("add-k", BleuSmoothing.AddK)]
    [InlineData("none", BleuSmoothing.None)]
    public void SmoothingNamesAreSacreBleus(string name, BleuSmoothing smoothing)
    {
        Assert.Equal(smoothing, Bleu.ParseSmoothing(name));
        Assert.Equal(name, Bleu.SmoothingName(smoothing));
    }

    [Fact]
    public void ReferenceStreamOfAnotherLengthIsRejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new Bleu().CorpusScore(Hypotheses, ["only one line"]));

        Assert.Contains("1 segments", error.Message);
        Assert.Contains("3 hypotheses", error.Message);
    }
}
