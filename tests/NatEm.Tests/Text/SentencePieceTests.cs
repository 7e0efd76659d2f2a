using System.Text;
using NatEm.Data;
using NatEm.Tests.Data;
using NatEm.Text;

namespace NatEm.Tests.Text;

public sealed class SentencePieceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A tiny SentencePiece BPE model written as protobuf by hand (sentencepiece_model.proto): pieces
    /// with scores (a higher score merges first), trainer spec (BPE, unk 0, bos 1, eos 2, no pad) and an identity
    /// normalizer that adds the dummy '▁' prefix and escapes spaces.</summary>
    private string WriteModel()
    {
        (string Piece, float Score, int Type)[] pieces =
            [("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("▁a", -1, 1), ("ab", -2, 1), ("▁ab", -3, 1), ("▁", -4, 1), ("a", -5, 1), ("b", -6, 1)];
        var model = Message(m =>
        {
            foreach (var (piece, score, type) in pieces)
                Bytes(m, 1, Message(p => { Text(p, 1, piece); Float(p, 2, score); Int(p, 3, type); }));
            Bytes(m, 2, Message(t => { Int(t, 3, 2); Int(t, 4, pieces.Length); Int(t, 40, 0); Int(t, 41, 1); Int(t, 42, 2); Int(t, 43, -1); }));
            Bytes(m, 3, Message(n => { Text(n, 1, "identity"); Int(n, 3, 1); Int(n, 4, 1); Int(n, 5, 1); }));
        });
        return _dir.Write("tiny.model", model);
    }

    private static byte[] Message(Action<Stream> write)
    {
        var stream = new MemoryStream();
        write(stream);
        return stream.ToArray();
    }

    private static void Varint(Stream s, ulong value)
    {
        for (; value >= 0x80; value >>= 7) s.WriteByte((byte)(value | 0x80));
        s.WriteByte((byte)value);
    }

    private static void Int(Stream s, int field, long value) { Varint(s, (ulong)(field << 3)); Varint(s, (ulong)value); }
    private static void Float(Stream s, int field, float value) { Varint(s, (ulong)(field << 3 | 5)); s.Write(BitConverter.GetBytes(value)); }
    private static void Bytes(Stream s, int field, byte[] value) { Varint(s, (ulong)(field << 3 | 2)); Varint(s, (ulong)value.Length); s.Write(value); }
    private static void Text(Stream s, int field, string value) => Bytes(s, field, Encoding.UTF8.GetBytes(value));

    [Fact]
    public void IdsAreShiftedPastNatEmSpecialTokens()
    {
        var tokenizer = SentencePieceSubwordTokenizer.Load(WriteModel());
        Assert.Equal(9 + SpecialTokens.Count, tokenizer.VocabSize);
        var ids = tokenizer.Encode("ab a");
        Assert.Equal([5 + SpecialTokens.Count, 3 + SpecialTokens.Count], ids);
        Assert.Equal(["▁ab", "▁a"], ids.Select(tokenizer.IdToToken));
        Assert.Equal("ab a", tokenizer.Decode([SpecialTokens.Bos, .. ids, SpecialTokens.Eos]));
        Assert.Equal(SpecialTokens.UnkToken, tokenizer.IdToToken(SpecialTokens.Unk));
    }

    [Fact]
    public void UnknownCharacterMapsToNatEmUnk()
    {
        var tokenizer = SentencePieceSubwordTokenizer.Load(WriteModel());
        Assert.Equal([5 + SpecialTokens.Count, SpecialTokens.Unk, 3 + SpecialTokens.Count], tokenizer.Encode("abc a"));
    }

    [Fact]
    public void BadModelFileIsNamed()
    {
        var path = _dir.Write("bad.model", [1, 2, 3, 4, 5]);
        Assert.StartsWith($"{path}: not a valid SentencePiece model", Assert.Throws<NatEmException>(() => SentencePieceSubwordTokenizer.Load(path)).Message);
        Assert.StartsWith($"{_dir.File("none.model")}: SentencePiece model file not found",
            Assert.Throws<NatEmException>(() => SentencePieceSubwordTokenizer.Load(_dir.File("none.model"))).Message);
    }

    [Fact]
    public void PrepareCanUseASentencePieceModel()
    {
        var output = _dir.File("prepared");
        var result = DataPreparer.Prepare(new PrepareOptions
        {
            OutputDirectory = output,
            Train = new CorpusInput.FilePair(_dir.Write("t.en", "ab a\na ab\n"), _dir.Write("t.es", "a b\nab\n")),
            SentencePieceModel = WriteModel(),
            ValidSize = 0,
            TestSize = 0,
        });
        Assert.Equal(TokenizerInfo.SentencePiece, result.Manifest.Tokenizer.Kind);
        var data = PreparedData.Load(output);
        Assert.IsType<SentencePieceSubwordTokenizer>(data.Tokenizer);
        Assert.Equal([5 + SpecialTokens.Count, 3 + SpecialTokens.Count], data.Split("train").Source[0]);
        Assert.False(File.Exists(Path.Combine(output, BpeSubwordTokenizer.VocabFileName)));
    }
}
