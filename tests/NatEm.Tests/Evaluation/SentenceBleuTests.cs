using NatEm.Evaluation;

namespace NatEm.Tests.Evaluation;

/// <summary>Expectations from sacreBLEU 2.x's test/test_sentence_bleu.py, with its tolerance.</summary>
public class SentenceBleuTests
{
    private const double Epsilon = 1e-3;

    // sacreBLEU issue #98: Romanian with comma-below vs cedilla letters.
    private const string Reference = "producţia de zahăr brut se exprimă în zahăr alb;";
    private const string Hypothesis = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";

    // sacreBLEU issue #141: no n-gram in common.
    private const string ReferenceWithoutMatch = "okay thanks";
    private const string HypothesisWithoutMatch = "this is a cat";

    private static Bleu SentenceBleu(string smoothing, double? value, bool lowercase, string tokenizer) => new(new BleuOptions
    {
        Smoothing = Bleu.ParseSmoothing(smoothing),
        SmoothValue = value,
        Lowercase = lowercase,
        Tokenizer = BleuTokenizer.FromName(tokenizer),
        EffectiveOrder = true,
    });

    [Theory]
    // change smoothing
    [InlineData("exp", null, false, "13a", 8.493)]
    [InlineData("none", null, false, "13a", 0.0)]
    [InlineData("floor", null, false, "13a", 4.51688)]
    [InlineData("floor", 0.1, false, "13a", 4.51688)]
    [InlineData("floor", 0.5, false, "13a", 10.10)]
    [InlineData("add-k", null, false, "13a", 14.882)]
    [InlineData("add-k", 1.0, false, "13a", 14.882)]
    [InlineData("add-k", 2.0, false, "13a", 21.389)]
    // change tokenizer
    [InlineData("exp", null, false, "none", 7.347)]
    [InlineData("exp", null, false, "intl", 8.493)]
    [InlineData("exp", null, false, "char", 40.8759)]
    // change case
    [InlineData("exp", null, true, "char", 42.0267)]
    public void SentenceBleuMatchesSacreBleu(string smoothing, double? value, bool lowercase, string tokenizer, double expected)
    {
        var score = SentenceBleu(smoothing, value, lowercase, tokenizer).SentenceScore(Hypothesis, Reference);

        Assert.Equal(expected, score.Score, Epsilon);
    }

    [Theory]
    [InlineData("exp", null)]
    [InlineData("none", null)]
    [InlineData("floor", null)]
    [InlineData("floor", 0.1)]
    [InlineData("add-k", null)]
    [InlineData("add-k", 1.0)]
    public void SentenceWithoutAnyMatchScoresZero(string smoothing, double? value)
    {
        var score = SentenceBleu(smoothing, value, false, "13a").SentenceScore(HypothesisWithoutMatch, ReferenceWithoutMatch);

        Assert.Equal(0.0, score.Score, Epsilon);
    }
}
