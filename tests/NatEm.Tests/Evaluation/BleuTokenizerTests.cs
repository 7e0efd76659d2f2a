using NatEm.Evaluation;

namespace NatEm.Tests.Evaluation;

/// <summary>
/// sacreBLEU ships no tokenizer unit tests, so these outputs are worked out by hand from the regular expressions
/// of tokenizer_13a.py, tokenizer_re.py and tokenizer_intl.py (and the intl docstring); the corpus and sentence
/// BLEU tests check the tokenizers against sacreBLEU's published scores.
/// </summary>
public class BleuTokenizerTests
{
    [Theory]
    [InlineData("I'm a student.", "I'm a student .")]
    [InlineData("Hello, world.", "Hello , world .")]
    // Periods and commas stay inside numbers; a sentence-final period is split off thanks to the padding.
    [InlineData("Prices rose 1,000.50 and 3.14.", "Prices rose 1,000.50 and 3.14 .")]
    // A dash is split off only after a digit.
    [InlineData("pages 10-20 are well-known", "pages 10 - 20 are well-known")]
    [InlineData("a/b (c) [d] {e} $5 100% x@y", "a / b ( c ) [ d ] { e } $ 5 100 % x @ y")]
    [InlineData("&quot;Hi&quot; &amp; &lt;b&gt;", "\" Hi \" & < b >")]
    [InlineData("<skipped> text", "text")]
    [InlineData("hyphen-\nated\nline", "hyphenated line")]
    [InlineData("  spaced \t out  ", "spaced out")]
    public void Tokenizer13aSplitsAsMtevalV13a(string line, string expected)
    {
        Assert.Equal(expected, BleuTokenizer.FromName("13a").Tokenize(line));
    }

    [Theory]
    [InlineData("\"this,\" she   said, is an example.", "\" this , \" she said , is an example .")]
    // The intl docstring: a number followed by a sentence-final period keeps the period (as mteval-v14 does).
    [InlineData("Born in 2020.", "Born in 2020.")]
    [InlineData("1,000.5 $5€ a+b", "1,000.5 $ 5 € a + b")]
    [InlineData("«Bonjour» — dit-il", "« Bonjour » — dit - il")]
    // Symbols outside the Basic Multilingual Plane are symbols too.
    [InlineData("ok😀!", "ok 😀 !")]
    public void TokenizerIntlSplitsPunctuationAndSymbols(string line, string expected)
    {
        Assert.Equal(expected, BleuTokenizer.FromName("intl").Tokenize(line));
    }

    [Theory]
    // Spaces become tokens of their own, which BLEU's whitespace split then drops.
    [InlineData("ab c", "a b   c")]
    // Characters are code points: a surrogate pair stays one token.
    [InlineData("a😀b", "a 😀 b")]
    public void TokenizerCharSeparatesCodePoints(string line, string expected)
    {
        Assert.Equal(expected, BleuTokenizer.FromName("char").Tokenize(line));
    }

    [Fact]
    public void TokenizerNoneKeepsTheLine()
    {
        Assert.Equal("a  b, c.", BleuTokenizer.FromName("none").Tokenize("a  b, c."));
    }

    [Fact]
    public void TokenizerNamesAreSacreBleus()
    {
        foreach (var name in BleuTokenizer.Names) Assert.Equal(name, BleuTokenizer.FromName(name).Name);
        Assert.Equal("13a", BleuTokenizer.Default.Name);
        Assert.Throws<ArgumentException>(() => BleuTokenizer.FromName("zh"));
    }
}
