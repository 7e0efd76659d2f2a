using NatEm.Data;

namespace NatEm.Tests.Data;

public class TokenizerInfoTests
{
    private static readonly TokenizerInfo Bpe8k = new(TokenizerInfo.Bpe, 8092, 8000, 8000, ["vocab.json", "merges.txt"]);

    [Fact]
    public void SameKindAndSizeAreCompatible() =>
        Bpe8k.RequireSameVocabulary(Bpe8k with { Merges = 7999 }, "model.json", "the model", "the data");

    [Fact]
    public void AnotherSizeOrKindIsOneLineNamingBothSides()
    {
        var size = Assert.Throws<NatEmException>(() => Bpe8k.RequireSameVocabulary(Bpe8k with { VocabSize = 8000 }, "m/model.json", "the model", "the prepared data d"));
        Assert.Equal("m/model.json: the model has tokenizer (bpe, 8092 tokens) but the prepared data d has (bpe, 8000 tokens); token ids are only comparable under one vocabulary", size.Message);
        Assert.Equal(ExitCodes.BadModel, size.ExitCode);

        var kind = Assert.Throws<NatEmException>(() => Bpe8k.RequireSameVocabulary(Bpe8k with { Kind = TokenizerInfo.SentencePiece }, "nar", "the NAR model", "the AR model ar"));
        Assert.Contains("(bpe, 8092 tokens) but the AR model ar has (sentencepiece, 8092 tokens)", kind.Message);
        Assert.Equal(ExitCodes.BadModel, kind.ExitCode);
    }
}
