using NatEm.Data;
using NatEm.Tests.Em;
using NatEm.Text;

namespace NatEm.Tests.Reliability;

/// <summary>A prepared data directory whose tokenizer files are broken loads as a BadInput error naming the file (and line).</summary>
public sealed class TokenizerFileTests : IDisposable
{
    private readonly PreparedData _data = TinyPreparedData.Create(trainPairs: 20);

    private string TokenizerFile(string name) => Path.Combine(_data.Directory, name);

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_data.Directory)!, recursive: true);

    private void AssertLoadFailsNaming(string location)
    {
        var error = Assert.Throws<NatEmException>(() => PreparedData.Load(_data.Directory));
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.StartsWith($"{location}: ", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void VocabularyThatIsNotJsonIsNamed()
    {
        var vocab = TokenizerFile(BpeSubwordTokenizer.VocabFileName);
        File.WriteAllText(vocab, "[\"<pad>\", \"<s>\"");

        AssertLoadFailsNaming(vocab);
    }

    [Fact]
    public void MalformedMergeLineIsNamedWithItsLineNumber()
    {
        var merges = TokenizerFile(BpeSubwordTokenizer.MergesFileName);
        var lines = File.ReadAllLines(merges);
        lines[2] = lines[2].Replace(' ', '\t');
        File.WriteAllLines(merges, lines);

        AssertLoadFailsNaming($"{merges}:3");
    }
}
