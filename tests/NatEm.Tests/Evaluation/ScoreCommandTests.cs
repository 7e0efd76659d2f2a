using System.CommandLine;
using System.Text.Json;
using NatEm.Cli;

namespace NatEm.Tests.Evaluation;

/// <summary>`natem score` run in-process on temporary files.</summary>
public sealed class ScoreCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("natem-score-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        int exitCode = NatEmCommandLine.Run(["score", .. args], new InvocationConfiguration { Output = output, Error = new StringWriter() });
        return (exitCode, output.ToString());
    }

    [Fact]
    public void JsonOutputHasSacreBleuFieldsAndStatistics()
    {
        string[] lines = ["The dog bit the man.", "It was not unexpected."];
        var reference = Write("ref.txt", lines);
        var hypothesis = Write("hyp.txt", lines);

        var (exitCode, output) = Run("--ref", reference, "--hyp", hypothesis, "--json");

        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("BLEU", root.GetProperty("name").GetString());
        Assert.Equal(100.0, root.GetProperty("score").GetDouble());
        Assert.Equal("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3", root.GetProperty("signature").GetString());
        Assert.Equal(
            "100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 11 ref_len = 11)",
            root.GetProperty("verbose_score").GetString());
        Assert.Equal("13a", root.GetProperty("tok").GetString());
        Assert.Equal("2.4.3", root.GetProperty("version").GetString());
        // "The dog bit the man ." and "It was not unexpected ." have 6 and 5 tokens.
        Assert.Equal(new[] { 11L, 9, 7, 5 }, root.GetProperty("counts").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(new[] { 11L, 9, 7, 5 }, root.GetProperty("totals").EnumerateArray().Select(e => e.GetInt64()));
        Assert.All(root.GetProperty("precisions").EnumerateArray(), p => Assert.Equal(100.0, p.GetDouble()));
        Assert.Equal(1.0, root.GetProperty("bp").GetDouble());
        Assert.Equal(1.0, root.GetProperty("ratio").GetDouble());
        Assert.Equal(11, root.GetProperty("sys_len").GetInt64());
        Assert.Equal(11, root.GetProperty("ref_len").GetInt64());
    }

    [Fact]
    public void ChrfPlusPlusJsonMatchesEvaluateDoctest()
    {
        var reference = Write("ref.txt",
            "The relationship between dogs and cats is not exactly friendly.",
            "A good bookshop is just a genteel Black Hole that knows how to read.");
        var hypothesis = Write("hyp.txt",
            "The relationship between cats and dogs is not exactly friendly.",
            "a good bookshop is just a genteel black hole that knows how to read.");

        var (exitCode, output) = Run("--ref", reference, "--hyp", hypothesis, "--metric", "chrf++", "--json");

        Assert.Equal(0, exitCode);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("chrF2++", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(82.87, json.RootElement.GetProperty("score").GetDouble());
        Assert.Equal("nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.4.3", json.RootElement.GetProperty("signature").GetString());
    }

    [Fact]
    public void TextOutputIsTheSacreBleuLineWithSignature()
    {
        var reference = Write("ref.txt", "a b c d e");
        var hypothesis = Write("hyp.txt", "a b c d e");

        var (exitCode, output) = Run("--ref", reference, "--hyp", hypothesis, "--metric", "chrf", "--width", "1");

        Assert.Equal(0, exitCode);
        Assert.Equal("chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.4.3 = 100.0", output.TrimEnd('\n'));
    }

    [Fact]
    public void SentenceLevelPrintsOneEffectiveOrderScorePerLine()
    {
        // test_sentence_bleu.py: 8.493 for the first pair, 0.0 for the second.
        var reference = Write("ref.txt", "producţia de zahăr brut se exprimă în zahăr alb;", "okay thanks");
        var hypothesis = Write("hyp.txt", "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;", "this is a cat");

        var (exitCode, output) = Run("--ref", reference, "--hyp", hypothesis, "--sentence-level");

        Assert.Equal(0, exitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("BLEU|nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.4.3 = 8.49 ", lines[0]);
        Assert.StartsWith("BLEU|nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.4.3 = 0.00 ", lines[1]);
    }

    [Fact]
    public void MismatchedLineCountsFailWithTheBadInputExitCode()
    {
        var reference = Write("ref.txt", "one", "two");
        var hypothesis = Write("hyp.txt", "one", "two", "three");

        var (exitCode, output) = Run("--ref", reference, "--hyp", hypothesis, "--json");

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Equal("", output);
    }

    [Fact]
    public void BleuOnlyOptionWithChrfIsAUsageError()
    {
        var reference = Write("ref.txt", "a");
        var hypothesis = Write("hyp.txt", "a");

        var (exitCode, _) = Run("--ref", reference, "--hyp", hypothesis, "--metric", "chrf", "--tokenize", "intl");

        Assert.Equal(ExitCodes.Usage, exitCode);
    }

    [Fact]
    public void AnUnknownTokenizerIsAUsageError()
    {
        var file = Write("t.txt", ["a"]);
        Assert.Equal(ExitCodes.Usage, Run("--ref", file, "--hyp", file, "--tokenize", "zh").ExitCode);
    }
}
