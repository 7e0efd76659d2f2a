using System.Text.Json;
using Microsoft.ML.Tokenizers;
using NatEm.IO;

namespace NatEm.Text;

/// <summary>
/// NatEm's joint BPE, stored as the standard <c>vocab.json</c> (token → id, ids 0–3 are
/// <see cref="SpecialTokens"/>) and <c>merges.txt</c> ("#version" line, then one "left right" merge per line,
/// highest priority first), encoded and decoded by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> over
/// <see cref="SubwordText"/>'s word-boundary markers. Characters not in the vocabulary become
/// <see cref="SpecialTokens.Unk"/>, one per character.
/// </summary>
public sealed class BpeSubwordTokenizer : ISubwordTokenizer
{
    public const string VocabFileName = "vocab.json", MergesFileName = "merges.txt";

    private readonly BpeTokenizer _bpe;
    private readonly string[] _idToToken;

    private BpeSubwordTokenizer(BpeTokenizer bpe, string[] idToToken) => (_bpe, _idToToken) = (bpe, idToToken);

    public int VocabSize => _idToToken.Length;

    /// <summary>Loads vocab.json and merges.txt from a directory, checking that ids are 0..n-1 with the special
    /// tokens first; problems are <see cref="NatEmException"/>s naming the file.</summary>
    public static BpeSubwordTokenizer Load(string directory)
    {
        var vocabPath = Path.Combine(directory, VocabFileName);
        var mergesPath = Path.Combine(directory, MergesFileName);
        foreach (var path in new[] { vocabPath, mergesPath })
            if (!File.Exists(path)) throw NatEmException.In(path, "missing BPE tokenizer file");

        var vocabulary = ReadVocabulary(vocabPath);
        var idToToken = IdToTokenTable(vocabulary, vocabPath);
        var merges = ReadMerges(mergesPath);
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                PreTokenizer = new RegexPreTokenizer(SubwordText.PreTokenizer(), null),
                UnknownToken = SpecialTokens.UnkToken,
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            throw NatEmException.In(mergesPath, $"does not match {VocabFileName}: {e.Message}");
        }
        return new BpeSubwordTokenizer(bpe, idToToken);
    }

    private static Dictionary<string, int> ReadVocabulary(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<Dictionary<string, int>>(stream)
                ?? throw NatEmException.In(path, "must be a JSON object mapping tokens to ids");
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"invalid JSON (line {e.LineNumber + 1}): {e.Message}");
        }
    }

    /// <summary>The merges, each "left right" with exactly one space; the "#version" header and blank lines are skipped.</summary>
    private static List<string> ReadMerges(string path)
    {
        using var reader = Utf8LineReader.Open(path);
        var merges = new List<string>();
        while (reader.TryReadLine(out var line))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            var space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw NatEmException.At(path, reader.LineNumber, "expected a merge \"left right\" (two tokens separated by one space)");
            merges.Add(line);
        }
        return merges;
    }

    private static string[] IdToTokenTable(Dictionary<string, int> vocabulary, string vocabPath)
    {
        var idToToken = new string[vocabulary.Count];
        foreach (var (token, id) in vocabulary)
        {
            if (id < 0 || id >= idToToken.Length || idToToken[id] is not null)
                throw NatEmException.In(vocabPath, $"ids must be 0..{idToToken.Length - 1} without gaps or repeats; '{token}' has id {id}");
            idToToken[id] = token;
        }
        for (var id = 0; id < SpecialTokens.Count; id++)
            if (idToToken.Length <= id || idToToken[id] != SpecialTokens.All[id])
                throw NatEmException.In(vocabPath, $"id {id} must be the special token {SpecialTokens.All[id]}");
        return idToToken;
    }

    public int[] Encode(string text) =>
        text.Length == 0 ? [] : [.. _bpe.EncodeToIds(SubwordText.MarkWordBoundaries(text))];

    public string Decode(IEnumerable<int> ids) =>
        SubwordText.RestoreSpaces(_bpe.Decode(ids.Where(id => id >= SpecialTokens.Count), considerSpecialTokens: false));

    public string IdToToken(int id) => _idToToken[id];
}
