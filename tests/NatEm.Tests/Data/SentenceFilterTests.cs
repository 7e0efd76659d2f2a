using NatEm.Data;

namespace NatEm.Tests.Data;

public sealed class SentenceFilterTests
{
    private static readonly FilterOptions Options = new(MaxTokens: 6, MaxLengthRatio: 2.5);

    [Theory]
    [InlineData("a b", "c d e", DropReason.None)]
    [InlineData("", "c", DropReason.Empty)]
    [InlineData("a", "", DropReason.Empty)]
    [InlineData("a b c d e f g", "a b c d e f g", DropReason.TooLong)]
    [InlineData("a b", "c d e f g h", DropReason.Ratio)]
    [InlineData("a b", "c d e f g", DropReason.None)]
    public void TextChecks(string source, string target, DropReason expected) =>
        Assert.Equal(expected, SentenceFilter.CheckText(source, target, Options));

    [Fact]
    public void TokenCheckUsesTheLongerSide()
    {
        Assert.Equal(DropReason.None, SentenceFilter.CheckTokens(6, 6, Options));
        Assert.Equal(DropReason.TooLong, SentenceFilter.CheckTokens(2, 7, Options));
    }

    [Fact]
    public void InvalidSettingsAreUsageErrors()
    {
        Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => new FilterOptions(0).Validate()).ExitCode);
        Assert.Equal(ExitCodes.Usage, Assert.Throws<NatEmException>(() => new FilterOptions(10, 0.5).Validate()).ExitCode);
    }
}
