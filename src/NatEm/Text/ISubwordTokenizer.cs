namespace NatEm.Text;

/// <summary>Ids of the special tokens; every NatEm vocabulary starts with them in this order.</summary>
public static class SpecialTokens
{
    public const int Pad = 0, Bos = 1, Eos = 2, Unk = 3;
    public const string PadToken = "<pad>", BosToken = "<s>", EosToken = "</s>", UnkToken = "<unk>";
    public static readonly string[] All = [PadToken, BosToken, EosToken, UnkToken];
    public const int Count = 4;
}

/// <summary>A subword tokenizer over a joint source/target vocabulary whose first ids are <see cref="SpecialTokens"/>.</summary>
public interface ISubwordTokenizer
{
    int VocabSize { get; }
    /// <summary>Token ids of a normalized sentence, without bos/eos.</summary>
    int[] Encode(string text);
    /// <summary>Text of token ids; special tokens are skipped.</summary>
    string Decode(IEnumerable<int> ids);
    /// <summary>The surface string of one id (for debugging and n-best output).</summary>
    string IdToToken(int id);
}
