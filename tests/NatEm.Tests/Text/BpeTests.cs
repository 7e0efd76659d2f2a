using NatEm.Tests.Data;
using NatEm.Text;

namespace NatEm.Tests.Text;

public sealed class BpeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private BpeSubwordTokenizer Train(IEnumerable<string> sentences, int merges)
    {
        BpeLearner.Learn(sentences, merges).Save(_dir.Path);
        return BpeSubwordTokenizer.Load(_dir.Path);
    }

    [Fact]
    public void TinyTextLearnsTheExpectedMerges()
    {
        // Pieces: ▁hug ×3, ▁pug, ▁pun, ▁bun, ▁hugs. "u g" is most frequent (5); then "h ug" and "▁ h" tie at 4
        // and the ordinal order of the left symbol decides ('h' < '▁'); then "▁ hug" (4); then "u n" (2) beats
        // "▁ p" (2) by the same rule; no later pair occurs twice.
        var model = BpeLearner.Learn(["hug hug pug", "pun bun hug hugs"], merges: 100);
        Assert.Equal([("u", "g"), ("h", "ug"), ("▁", "hug"), ("u", "n"), ("▁", "p")], model.Merges);
        Assert.Equal([.. SpecialTokens.All, "b", "g", "h", "n", "p", "s", "u", "▁", "ug", "hug", "▁hug", "un", "▁p"], model.Vocabulary);
    }

    [Fact]
    public void SavedModelIsStandardVocabAndMerges()
    {
        BpeLearner.Learn(["hug hug pug"], merges: 2).Save(_dir.Path);
        Assert.Equal(["#version: 0.2", "u g", "h ug"], File.ReadAllLines(_dir.File(BpeSubwordTokenizer.MergesFileName)));
        var vocab = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(_dir.File(BpeSubwordTokenizer.VocabFileName)))!;
        Assert.Equal(0, vocab["<pad>"]);
        Assert.Equal(3, vocab["<unk>"]);
        Assert.Equal(vocab.Count - 1, vocab["hug"]);
    }

    [Fact]
    public void EncodeUsesMergesAndMarksWords()
    {
        var tokenizer = Train(["hug hug pug", "pun bun hug hugs"], 100);
        var ids = tokenizer.Encode("hugs pun bug");
        Assert.Equal(["▁hug", "s", "▁p", "un", "▁", "b", "ug"], ids.Select(tokenizer.IdToToken));
        Assert.Equal("hugs pun bug", tokenizer.Decode(ids));
        Assert.Empty(tokenizer.Encode(""));
    }

    [Fact]
    public void UnknownCharactersBecomeUnk()
    {
        var tokenizer = Train(["hug pug"], 10);
        var ids = tokenizer.Encode("hug zq");
        Assert.Equal([SpecialTokens.Unk, SpecialTokens.Unk], ids[^2..]);
        Assert.Equal("hug", tokenizer.Decode(ids));
    }

    [Fact]
    public void DecodeSkipsSpecialTokens()
    {
        var tokenizer = Train(["hug pug"], 10);
        Assert.Equal("hug pug", tokenizer.Decode([SpecialTokens.Bos, .. tokenizer.Encode("hug pug"), SpecialTokens.Eos, SpecialTokens.Pad]));
    }

    [Fact]
    public void CorpusSentencesRoundTrip()
    {
        var splits = BundledBible.Splits;
        var training = splits.Train.Source.Take(1500).Concat(splits.Train.Target.Take(1500)).ToList();
        var tokenizer = Train(training, 1000);
        var alphabet = training.SelectMany(s => s).ToHashSet();
        var checkedSentences = splits.Valid.Source.Concat(splits.Valid.Target).Concat(training.Take(500))
            .Where(s => s.All(alphabet.Contains)).ToList();
        Assert.True(checkedSentences.Count > 1500);
        foreach (var sentence in checkedSentences)
        {
            var ids = tokenizer.Encode(sentence);
            Assert.DoesNotContain(SpecialTokens.Unk, ids);
            Assert.Equal(sentence, tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void RandomTextOverTheAlphabetRoundTrips()
    {
        var tokenizer = Train(["¡Hola, mundo! ¿Qué tal?", "He said: “don’t go—stay.” (1:3)"], 50);
        var alphabet = "¡Hola,mundo!¿Quétal?Hesid:“n’gy.”(1:3)—".ToCharArray();
        var random = new Random(5);
        for (var n = 0; n < 500; n++)
        {
            var words = Enumerable.Range(0, random.Next(1, 8))
                .Select(_ => new string(Enumerable.Range(0, random.Next(1, 7)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()));
            var sentence = TextNormalizer.Normalize(string.Join(' ', words));
            Assert.Equal(sentence, tokenizer.Decode(tokenizer.Encode(sentence)));
        }
    }

    [Fact]
    public void StopsWhenNoPairRepeats()
    {
        var model = BpeLearner.Learn(["ab cd"], merges: 100);
        Assert.Empty(model.Merges);
    }

    [Fact]
    public void BadTokenizerFilesAreNamed()
    {
        BpeLearner.Learn(["hug pug"], 2).Save(_dir.Path);
        var mergesPath = _dir.File(BpeSubwordTokenizer.MergesFileName);
        File.AppendAllText(mergesPath, "u g extra\n");
        Assert.StartsWith($"{mergesPath}:{File.ReadAllLines(mergesPath).Length}: expected a merge", Assert.Throws<NatEmException>(() => BpeSubwordTokenizer.Load(_dir.Path)).Message);

        var vocabPath = _dir.Write(BpeSubwordTokenizer.VocabFileName, """{"a": 0, "<s>": 1, "</s>": 2, "<unk>": 3}""");
        Assert.StartsWith($"{vocabPath}: id 0 must be the special token <pad>", Assert.Throws<NatEmException>(() => BpeSubwordTokenizer.Load(_dir.Path)).Message);
        _dir.Write(BpeSubwordTokenizer.VocabFileName, "{ not json");
        Assert.StartsWith($"{vocabPath}: invalid JSON", Assert.Throws<NatEmException>(() => BpeSubwordTokenizer.Load(_dir.Path)).Message);
        File.Delete(vocabPath);
        Assert.StartsWith($"{vocabPath}: missing", Assert.Throws<NatEmException>(() => BpeSubwordTokenizer.Load(_dir.Path)).Message);
    }
}
