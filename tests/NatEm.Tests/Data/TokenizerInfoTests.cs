using NatEm.Data;

namespace NatEm.Tests.Data;

public class TokenizerInfoTests
{
    private static readonly TokenizerInfo Bpe8k = new(TokenizerInfo.Bpe, 8092, 8000, 8000, ["vocab.json", "merges.txt"]);

    [Fact]
    public void SameKindAndSizeAreCompatible()
    {
        // Merges and file lists may differ (a re-exported tokenizer); only the kind and the vocabulary size decide.
        foreach (var other in new[] { Bpe8k, Bpe8k with { Merges = 7999 }, Bpe8k with { Files = ["tokenizer.json"] } })
            Assert.Null(Record.Exception(() => Bpe8k.RequireSameVocabulary(other, "model.json", "the model", "the data")));
        // The check is symmetric: neither side is privileged.
        Assert.NotNull(Record.Exception(() => (Bpe8k with { VocabSize = 8000 }).RequireSameVocabulary(Bpe8k, "model.json", "the model", "the data")));
    }

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
