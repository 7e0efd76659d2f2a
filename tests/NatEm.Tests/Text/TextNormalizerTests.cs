using NatEm.Text;

namespace NatEm.Tests.Text;

public sealed class TextNormalizerTests
{
    [Theory]
    [InlineData("plain text.", "plain text.")]
    [InlineData("  lead\t and\r\n trail  ", "lead and trail")]
    [InlineData("no\u00A0break\u2003em\u3000ideographic", "no break em ideographic")]
    [InlineData("bell\u0007 and\u0000null", "bell andnull")]
    [InlineData("marker\u2581is\u2581a space", "marker is a space")]
    [InlineData("", "")]
    [InlineData(" \t ", "")]
    public void WhitespaceAndControls(string input, string expected) => Assert.Equal(expected, TextNormalizer.Normalize(input));

    [Theory]
    [InlineData("Me\u0301xico", "M\u00E9xico")] // combining acute composes
    [InlineData("\u212B", "\u00C5")] // angstrom sign is a singleton
    [InlineData("a\u0323\u0302", "\u1EAD")] // marks reordered by class, then composed
    [InlineData("a\u0302\u0323", "\u1EAD")]
    [InlineData("\u00E9\u0323", "\u1EB9\u0301")] // é + dot below: the dot composes first
    [InlineData("\u1100\u1161\u11A8", "\uAC01")] // Hangul jamo compose algorithmically
    [InlineData("\u0958", "\u0915\u093C")] // composition exclusion stays decomposed
    [InlineData("\uD834\uDD5E", "\uD834\uDD57\uD834\uDD65")] // excluded supplementary-plane character
    public void UnicodeNfc(string input, string expected) => Assert.Equal(expected, TextNormalizer.Normalize(input));

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters() =>
        Assert.Equal("a\uFFFDe\u0301".Normalize(), TextNormalizer.Normalize("a\uD800e\u0301"));

    [Fact]
    public void NormalizedTextIsReturnedAsIs()
    {
        const string text = "¿Dónde está? “Aquí”, dijo él — sí.";
        Assert.Same(text, TextNormalizer.Normalize(text));
    }
}
