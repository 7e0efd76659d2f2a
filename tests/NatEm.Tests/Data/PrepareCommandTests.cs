using System.CommandLine;
using NatEm.Cli;
using NatEm.Data;

namespace NatEm.Tests.Data;

/// <summary>`natem prepare` run in-process on temporary files.</summary>
public sealed class PrepareCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var exitCode = NatEmCommandLine.Run(["prepare", .. args], new InvocationConfiguration { Output = output, Error = error });
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void PreparesFilePairsAndPrintsStatistics()
    {
        var source = _dir.Write("t.de", "ein Haus\nein Hund\nder Hund\n");
        var target = _dir.Write("t.fr", "une maison\nun chien\nle chien\n");
        var output = _dir.File("prepared");

        var (exitCode, text, _) = Run("--train-src", source, "--train-tgt", target, "--src", "de", "--tgt", "fr", "--merges", "5",
            "--valid-size", "0", "--test-size", "0", "--out", output);

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Contains("train", text);
        // Not a terminal: one plain line per step, no repeats.
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("Reading and normalizing: 100%", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Encoding: 100%", StringComparison.Ordinal));
        Assert.Equal(lines.Length, lines.Distinct().Count());
        Assert.Contains("Vocabulary:", text);
        var data = PreparedData.Load(output);
        Assert.Equal(["ein Haus", "ein Hund", "der Hund"], data.Split("train").SourceText);
        Assert.Equal(5, data.Manifest.Tokenizer.Merges);
    }

    [Fact]
    public void UnpairedFileOptionIsAUsageError()
    {
        Assert.Equal(ExitCodes.Usage, Run("--train-src", _dir.Write("a.en", "x\n"), "--out", _dir.File("o")).ExitCode);
    }

    [Fact]
    public void BadCorpusIsABadInputError()
    {
        var corpus = _dir.Write("bad.tsv", "en\tes\nonly one field\n");
        Assert.Equal(ExitCodes.BadInput, Run("--corpus", corpus, "--out", _dir.File("o")).ExitCode);
    }

    [Fact]
    public void TruncatedGzipCorpusIsABadInputErrorNamingTheFileAndNothingIsWritten()
    {
        var bytes = new byte[20000];
        using (var bundled = BibleCorpus.Open()) bundled.ReadExactly(bytes);
        var corpus = _dir.Write("t.tsv.gz", bytes);
        var output = _dir.File("o");

        var (exitCode, _, error) = Run("--corpus", corpus, "--out", output);

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.StartsWith($"natem: error: {corpus}: truncated or corrupt gzip data", error);
        Assert.False(Path.Exists(output));
    }

    [Fact]
    public void CorruptGzipCorpusIsABadInputError()
    {
        var bytes = new byte[60000];
        using (var bundled = BibleCorpus.Open()) bundled.ReadExactly(bytes);
        for (var i = 30000; i < 30100; i++) bytes[i] ^= 0x5A;
        var corpus = _dir.Write("c.tsv.gz", bytes);

        var (exitCode, _, error) = Run("--corpus", corpus, "--out", _dir.File("o"));

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Contains(corpus, error);
    }

    [Fact]
    public void PathsTheEnvironmentRefusesAreOneLineErrorsNamingThePath()
    {
        var corpus = _dir.Write("c.tsv", "en\tes\nhello\thola\n");
        var existingFile = _dir.Write("file", "x");
        foreach (var (args, path) in new[]
                 {
                     (new[] { "--corpus", corpus, "--out", existingFile }, existingFile),
                     (new[] { "--corpus", corpus, "--out", "/proc/natem-test" }, "/proc/natem-test"),
                     (new[] { "--corpus", _dir.Path, "--out", _dir.File("o") }, _dir.Path),
                 })
        {
            var (exitCode, _, error) = Run([.. args, "--merges", "5"]);
            Assert.True(exitCode == ExitCodes.Environment, error);
            Assert.Contains(path, error);
            Assert.Single(error.TrimEnd('\n').Split('\n'));
            Assert.DoesNotContain("internal error", error);
        }
    }

    [Theory]
    [InlineData("--merges", "abc")]
    [InlineData("--no-such-option", "1")]
    public void ParserErrorsAreOneLineUsageErrorsPointingToHelp(string option, string value)
    {
        var (exitCode, output, error) = Run("--out", _dir.File("o"), option, value);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains(option, error);
        Assert.EndsWith("(see 'natem prepare --help')", error.TrimEnd());
    }
}
