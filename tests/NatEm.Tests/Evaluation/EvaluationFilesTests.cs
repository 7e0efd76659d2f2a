using NatEm.Evaluation;

namespace NatEm.Tests.Evaluation;

public sealed class EvaluationFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("natem-eval-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string name, string content) => Write(name, System.Text.Encoding.UTF8.GetBytes(content));

    [Fact]
    public void LinesSplitOnNewlineOnlyAndLoseTrailingWhitespace()
    {
        var path = Write("lines.txt", "first \r\n\nthird\rstill third\t");

        Assert.Equal(["first", "", "third\rstill third"], EvaluationFiles.ReadLines(path));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("\n", 1)]
    [InlineData("a", 1)]
    [InlineData("a\n", 1)]
    [InlineData("a\nb", 2)]
    public void LineCountFollowsPythonFileIteration(string content, int lines)
    {
        Assert.Equal(lines, EvaluationFiles.ReadLines(Write("count.txt", content)).Count);
    }

    [Fact]
    public void MismatchedLineCountsNameBothFilesAndCounts()
    {
        var hypotheses = Write("hyp.txt", "one\ntwo\nthree\n");
        var references = Write("ref.txt", "one\ntwo\n");

        var error = Assert.Throws<NatEmException>(() => EvaluationFiles.ReadParallel(hypotheses, references));

        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
        Assert.Contains(hypotheses, error.Message);
        Assert.Contains(references, error.Message);
        Assert.Contains("2 lines", error.Message);
        Assert.Contains("3 lines", error.Message);
    }

    [Fact]
    public void InvalidUtf8IsReportedWithFileAndLine()
    {
        var path = Write("bad.txt", [(byte)'o', (byte)'k', (byte)'\n', (byte)'b', 0xC3, 0x28, (byte)'\n']);

        var error = Assert.Throws<NatEmException>(() => EvaluationFiles.ReadLines(path));

        Assert.StartsWith($"{path}:2: ", error.Message);
        Assert.Contains("UTF-8", error.Message);
        Assert.Equal(ExitCodes.BadInput, error.ExitCode);
    }

    [Fact]
    public void MissingFileIsAUserError()
    {
        var path = Path.Combine(_directory, "missing.txt");

        var error = Assert.Throws<NatEmException>(() => EvaluationFiles.ReadLines(path));

        Assert.StartsWith($"{path}: ", error.Message);
    }

    [Fact]
    public void ADirectoryIsAnEnvironmentErrorNamingIt()
    {
        var error = Assert.Throws<NatEmException>(() => EvaluationFiles.ReadLines(_directory));

        Assert.Equal($"{_directory}: is a directory; expected a file", error.Message);
        Assert.Equal(ExitCodes.Environment, error.ExitCode);
    }

    [Fact]
    public void CarriageReturnInsideAReferenceLineDoesNotChangeBleu()
    {
        // sacreBLEU's test.sh "control character" case.
        var hypotheses = Write("hyp.txt", "Hello! How are you doing today?\n");
        var buggy = Write("buggy.txt", "Hello! How are you \r doing today?");
        var okay = Write("okay.txt", "Hello! How are you doing today?\n");

        var (hyps, buggyRefs) = EvaluationFiles.ReadParallel(hypotheses, buggy);
        var (_, okayRefs) = EvaluationFiles.ReadParallel(hypotheses, okay);

        var bleu = new Bleu();
        Assert.Equal(bleu.CorpusScore(hyps, okayRefs).FormatScore(2), bleu.CorpusScore(hyps, buggyRefs).FormatScore(2));
        Assert.Equal(100.0, bleu.CorpusScore(hyps, buggyRefs).Score, 1e-9);
    }
}
