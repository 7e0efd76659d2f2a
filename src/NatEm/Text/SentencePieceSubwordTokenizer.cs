using Microsoft.ML.Tokenizers;

namespace NatEm.Text;

/// <summary>
/// An existing SentencePiece <c>.model</c> (BPE or unigram) read by Microsoft.ML.Tokenizers'
/// <see cref="SentencePieceTokenizer"/>. Id mapping: NatEm id = SentencePiece id + 4, so that NatEm's
/// <see cref="SpecialTokens"/> keep ids 0–3; SentencePiece's own unknown id maps to <see cref="SpecialTokens.Unk"/>,
/// and its bos/eos/pad ids are never produced. The model applies its own normalization rules on top of
/// <see cref="TextNormalizer"/>, so Decode(Encode(s)) == s holds only as far as those rules leave s unchanged.
/// </summary>
public sealed class SentencePieceSubwordTokenizer : ISubwordTokenizer
{
    public const string ModelFileName = "sentencepiece.model";
    private const int IdOffset = SpecialTokens.Count;

    private readonly SentencePieceTokenizer _sentencePiece;
    private readonly string[] _pieces;

    private SentencePieceSubwordTokenizer(SentencePieceTokenizer sentencePiece)
    {
        _sentencePiece = sentencePiece;
        _pieces = new string[sentencePiece.Vocabulary.Count];
        foreach (var (piece, id) in sentencePiece.Vocabulary)
            if (id >= 0 && id < _pieces.Length) _pieces[id] = piece;
    }

    public int VocabSize => _pieces.Length + IdOffset;

    /// <summary>Loads a .model file; an unreadable or invalid one is a <see cref="NatEmException"/> naming it.</summary>
    public static SentencePieceSubwordTokenizer Load(string modelPath)
    {
        try
        {
            using var stream = File.OpenRead(modelPath);
            return new SentencePieceSubwordTokenizer(
                SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw NatEmException.In(modelPath, "SentencePiece model file not found");
        }
        catch (Exception e) when (e is not NatEmException and not OutOfMemoryException)
        {
            // The protobuf parser and the model checks throw various exception types for a bad file.
            throw NatEmException.In(modelPath, $"not a valid SentencePiece model: {e.Message}");
        }
    }

    public int[] Encode(string text)
    {
        var ids = _sentencePiece.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false);
        var mapped = new int[ids.Count];
        for (var i = 0; i < mapped.Length; i++)
            mapped[i] = ids[i] == _sentencePiece.UnknownId ? SpecialTokens.Unk : ids[i] + IdOffset;
        return mapped;
    }

    public string Decode(IEnumerable<int> ids) =>
        _sentencePiece.Decode(ids.Where(id => id >= IdOffset).Select(id => id - IdOffset), considerSpecialTokens: false);

    public string IdToToken(int id) => id < IdOffset ? SpecialTokens.All[id] : _pieces[id - IdOffset];
}
