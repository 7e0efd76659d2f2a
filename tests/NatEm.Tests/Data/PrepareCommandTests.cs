using System.CommandLine;
using NatEm.Cli.Commands;
using NatEm.Data;

namespace NatEm.Tests.Data;

/// <summary>`natem prepare` run in-process on temporary files.</summary>
public sealed class PrepareCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Runs the command; error messages go to the process's stderr (CliErrors), so tests check exit codes.</summary>
    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var root = new RootCommand { PrepareCommand.Create() };
        var output = new StringWriter();
        var exitCode = root.Parse(["prepare", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = new StringWriter() });
        return (exitCode, output.ToString());
    }

    [Fact]
    public void PreparesFilePairsAndPrintsStatistics()
    {
        var source = _dir.Write("t.de", "ein Haus\nein Hund\nder Hund\n");
        var target = _dir.Write("t.fr", "une maison\nun chien\nle chien\n");
        var output = _dir.File("prepared");

        var (exitCode, text) = Run("--train-src", source, "--train-tgt", target, "--src", "de", "--tgt", "fr", "--merges", "5", "--out", output);

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Contains("train", text);
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
}
