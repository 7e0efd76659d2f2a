namespace NatEm.Text;

/// <summary>Loads a tokenizer of a known kind from the folder that holds its files.</summary>
public static class TokenizerFiles
{
    public const string Bpe = "bpe", SentencePiece = "sentencepiece";

    public static ISubwordTokenizer Load(string dir, string kind) => kind switch
    {
        Bpe => BpeSubwordTokenizer.Load(dir),
        SentencePiece => SentencePieceSubwordTokenizer.Load(Path.Combine(dir, SentencePieceSubwordTokenizer.ModelFileName)),
        _ => throw NatEmException.In(dir, $"unknown tokenizer kind '{kind}' (expected {Bpe} or {SentencePiece})"),
    };
}
