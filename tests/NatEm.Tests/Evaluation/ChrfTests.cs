using NatEm.Evaluation;

namespace NatEm.Tests.Evaluation;

/// <summary>
/// Expectations from sacreBLEU 2.x's test/test_chrf.py (tolerance 1e-4) and README, and chrF++ values from the
/// doctested examples of Hugging Face evaluate's chrf metric, which calls sacreBLEU's CHRF.
/// </summary>
public class ChrfTests
{
    private const double Epsilon = 1e-4;

    // test_chrf.py scores these with char_order=6, word_order=0, beta=3.
    private static readonly ChrfOptions Beta3 = new() { Beta = 3 };

    public static TheoryData<string[], string[], double> EpsilonSmoothingCases => new()
    {
        { ["abcdefg"], ["hijklmnop"], 0.0 },
        { ["a"], ["b"], 0.0 },
        { [""], ["b"], 0.0 },
        { [""], ["ref"], 0.0 },
        { [""], ["reference"], 0.0 },
        { ["aa"], ["ab"], 8.3333 },
        { ["a", "b"], ["a", "c"], 8.3333 },
        { ["a"], ["a"], 16.6667 },
        { ["a b c"], ["a b c"], 50.0 },
        { ["a b c"], ["abc"], 50.0 },
        {
            [" risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ."],
            ["risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ."],
            63.361730
        },
        {
            [" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "],
            ["Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."],
            64.1302698
        },
        {
            ["Niemand hat die Absicht, eine Mauer zu errichten"],
            ["Niemand hat die Absicht, eine Mauer zu errichten"],
            100.0
        },
    };

    [Theory]
    [MemberData(nameof(EpsilonSmoothingCases))]
    public void EpsilonSmoothedChrfMatchesSacreBleu(string[] hypotheses, string[] references, double expected)
    {
        var chrf = new Chrf(Beta3 with { EpsSmoothing = true });

        Assert.Equal(expected, chrf.CorpusScore(hypotheses, references).Score, Epsilon);
    }

    public static TheoryData<string[], string[], double> EffectiveOrderCases => new()
    {
        { ["a"], ["a"], 100.0 },
        { [""], ["reference"], 0.0 },
        { ["a b c"], ["a b c"], 100.0 },
        { ["a b c"], ["abc"], 100.0 },
        { [""], ["c"], 0.0 },
        { ["a", "b"], ["a", "c"], 50.0 },
        { ["aa"], ["ab"], 25.0 },
    };

    [Theory]
    [MemberData(nameof(EffectiveOrderCases))]
    public void EffectiveOrderChrfMatchesSacreBleu(string[] hypotheses, string[] references, double expected)
    {
        Assert.Equal(expected, new Chrf(Beta3).CorpusScore(hypotheses, references).Score, Epsilon);
    }

    [Theory]
    [InlineData(
        "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
        "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.",
        67.3481606)]
    [InlineData(
        "risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .",
        "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .",
        65.2414427)]
    public void ChrfKeepingWhitespaceMatchesSacreBleu(string hypothesis, string reference, double expected)
    {
        var chrf = new Chrf(Beta3 with { Whitespace = true });

        Assert.Equal(expected, chrf.CorpusScore([hypothesis], [reference]).Score, Epsilon);
    }

    [Theory]
    [InlineData(
        "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
        "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.",
        39.14078509)]
    [InlineData(
        "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
        "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.",
        31.22557079)]
    [InlineData(
        "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
        "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.",
        57.15704367)]
    public void SentenceChrfMatchesSacreBleu(string hypothesis, string reference, double expected)
    {
        var chrf = new Chrf(new ChrfOptions { EpsSmoothing = true });

        Assert.Equal(expected, chrf.SentenceScore(hypothesis, reference).Score, Epsilon);
    }

    [Fact]
    public void DefaultChrfFormatsAsTheSacreBleuReadmeShows()
    {
        string[] hypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
        string[] references1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."];
        string[] references2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."];

        var score = new Chrf().CorpusScore(hypotheses, references1, references2);

        Assert.Equal("chrF2 = 59.73", score.ToString());
        Assert.Equal("nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3", score.Signature);
    }

    private static readonly string[] EvaluateHypotheses =
    [
        "The relationship between cats and dogs is not exactly friendly.",
        "a good bookshop is just a genteel black hole that knows how to read.",
    ];

    private static readonly string[] EvaluateReferences =
    [
        "The relationship between dogs and cats is not exactly friendly.",
        "A good bookshop is just a genteel Black Hole that knows how to read.",
    ];

    [Fact]
    public void ChrfMatchesEvaluateDoctest()
    {
        Assert.Equal(84.64214891738334, new Chrf().CorpusScore(EvaluateHypotheses, EvaluateReferences).Score, 1e-9);
        Assert.Equal(
            61.576379378113785,
            new Chrf().CorpusScore(
                ["The relationship between Obama and Netanyahu is not exactly friendly."],
                ["The ties between Obama and Netanyahu are not particularly friendly."]).Score,
            1e-9);
    }

    [Fact]
    public void ChrfPlusPlusMatchesEvaluateDoctest()
    {
        var score = new Chrf(ChrfOptions.ChrfPlusPlus).CorpusScore(EvaluateHypotheses, EvaluateReferences);

        Assert.Equal(82.87263732906315, score.Score, 1e-9);
        Assert.Equal("chrF2++", score.Name);
        Assert.Equal("nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.4.3", score.Signature);
    }

    [Fact]
    public void LowercasedChrfPlusPlusMatchesEvaluateDoctest()
    {
        var score = new Chrf(ChrfOptions.ChrfPlusPlus with { Lowercase = true }).CorpusScore(EvaluateHypotheses, EvaluateReferences);

        Assert.Equal(92.12853119829202, score.Score, 1e-9);
        Assert.Equal("nrefs:1|case:lc|eff:yes|nc:6|nw:2|space:no|version:2.4.3", score.Signature);
    }

    [Theory]
    // Python lowercases a word-final capital sigma to final sigma.
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΣΑΣ, ΣΑΣ.", "σας, σας.")]
    // Python's full lowercase mapping of capital I with dot above is "i" + combining dot above.
    [InlineData("İSTANBUL", "i\u0307stanbul")]
    public void LowercasingFollowsPython(string hypothesis, string reference)
    {
        var chrf = new Chrf(new ChrfOptions { Lowercase = true });

        Assert.Equal(100.0, chrf.SentenceScore(hypothesis, reference).Score, 1e-9);
    }

    [Fact]
    public void BestReferenceIsChosenPerSentence()
    {
        var chrf = new Chrf();
        var alone = chrf.CorpusScore(["a cat sat"], ["a cat sat"]).Score;

        var withWorseReference = chrf.CorpusScore(["a cat sat"], ["dogs ran"], ["a cat sat"]).Score;

        Assert.Equal(alone, withWorseReference);
        Assert.Equal(100.0, alone);
    }
}
