using NatEm.Decoding;
using NatEm.Modeling;

namespace NatEm.Tests.Cli;

[Collection(TinyModelsCollection.Name)]
public sealed class TranslateCommandTests(TinyModels models)
{
    private static readonly string[] Input = ["red cat sees the dog", "", "a big fish eats", "blue bird", "", "the small dog sees a red fish"];

    private static string[] ReadOutput(string path) => File.ReadAllText(path).Split('\n')[..^1];

    // Tests that compare with the library's Translator pass --precision Fp32: the library decodes a loaded model in
    // fp32, translate in the machine's default (bf16 where the CPU has it).

    [Fact]
    public void ArOutputEqualsTheTranslatorsWithLineCountEmptyLinesAndOrderKept()
    {
        var output = models.NewPath("ar.out");
        var (exitCode, _, error) = TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines(Input), "--output", output, "--beam", "2", "--precision", "Fp32");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var expected = Translator.For(ModelStore.Load(models.Ar), new TranslationOptions { Beam = new BeamSearchOptions { Beam = 2 } }).Translate(Input);
        var lines = ReadOutput(output);
        Assert.Equal(expected.Select(t => t.Text), lines);
        Assert.Equal(["", ""], new[] { lines[1], lines[4] });
        Assert.True(lines.Where((_, i) => Input[i].Length > 0).Distinct().Count() > 1, "the trained model should not translate every line alike");

        // Translating the lines in reverse order reverses the output.
        var reversedOutput = models.NewPath("ar-reversed.out");
        Assert.Equal(ExitCodes.Ok, TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines([.. Input.Reverse()]), "--output", reversedOutput, "--beam", "2", "--precision", "Fp32").ExitCode);
        Assert.Equal(lines.Reverse(), ReadOutput(reversedOutput));
    }

    [Fact]
    public void NarOutputToStdoutEqualsTheTranslatorsWithTheChosenDecoder()
    {
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.Nar, "--input", models.WriteLines(Input), "--decoder", "argmax", "--length-beam", "2", "--precision", "Fp32");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var expected = Translator.For(ModelStore.Load(models.Nar), new TranslationOptions { Nar = new NarDecodingOptions { Decoder = NarDecoder.Argmax, LengthBeam = 2 } })
            .Translate(Input);
        Assert.Equal(expected.Select(t => t.Text), output.Split('\n')[..^1]);
    }

    [Fact]
    public void NBestPrintsFairseqLinesNPerInputBestFirst()
    {
        string[] input = ["red cat sees the dog", "a big fish eats"];
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines(input), "--beam", "3", "--nbest", "3", "--precision", "Fp32");

        Assert.True(exitCode == ExitCodes.Ok, error);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(" ||| ")).ToArray();
        Assert.Equal(6, rows.Length);
        Assert.All(rows, r => Assert.Equal(3, r.Length));
        Assert.Equal(["0", "0", "0", "1", "1", "1"], rows.Select(r => r[0]));
        var best = Translator.For(ModelStore.Load(models.Ar), new TranslationOptions { Beam = new BeamSearchOptions { Beam = 3 } }).Translate(input);
        Assert.Equal(best.Select(t => t.Text), new[] { rows[0][1], rows[3][1] });
        foreach (var sentence in rows.Chunk(3))
        {
            var scores = sentence.Select(r => double.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(scores.OrderDescending(), scores);
        }
    }

    [Theory]
    [InlineData("nar", "--beam", "2")]
    [InlineData("nar", "--nbest", "1")]
    [InlineData("nar", "--length-penalty", "0.5")]
    [InlineData("ar", "--decoder", "odd")]
    [InlineData("ar", "--length-beam", "2")]
    [InlineData("ar", "--rescore", "AR")]
    public void OptionsOfTheOtherModelKindAreUsageErrorsNamingTheModel(string kind, string option, string value)
    {
        var model = kind == "ar" ? models.Ar : models.Nar;
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", model, "--input", models.WriteLines("red cat"), option, value == "AR" ? models.Ar : value);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal("", output);
        Assert.Contains(model, error);
        Assert.Contains(option, error);
    }

    [Fact]
    public void InvalidUtf8IsAnErrorNamingTheFileAndLine()
    {
        var input = models.NewPath("bad.txt");
        File.WriteAllBytes(input, [.. "red cat\n"u8, 0x62, 0xFF, 0x0A]);

        var (exitCode, _, error) = TinyModels.Run("translate", "--model", models.Ar, "--input", input);

        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Contains($"{input}:2: invalid UTF-8", error);
    }

    [Fact]
    public void TruncatedInputsAreTranslatedWithAWarningNamingTheLine()
    {
        var input = models.WriteLines("a", "the small dog sees a red fish");
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.Nar, "--input", input, "--max-input-tokens", "3");

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal(2, output.Split('\n')[..^1].Length);
        Assert.DoesNotContain($"{input}:1:", error);
        Assert.Contains($"natem: warning: {input}:2:", error);
    }

    [Fact]
    public void DecoderNamesAreCaseInsensitive()
    {
        var input = models.WriteLines("red cat sees the dog");
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.Nar, "--input", input, "--decoder", "Odd");

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal(TinyModels.Run("translate", "--model", models.Nar, "--input", input, "--decoder", "odd").Output, output);
    }

    [Theory]
    [InlineData("--input", "x")]
    [InlineData("--model", "M", "--decoder", "best")]
    [InlineData("--model", "M", "--beam", "two")]
    [InlineData("--model", "M", "--unknown")]
    public void ParserErrorsAreOneLineUsageErrorsWithoutTheHelpText(params string[] args)
    {
        var (exitCode, output, error) = TinyModels.Run(["translate", .. args.Select(a => a == "M" ? models.Ar : a)]);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("natem: error: ", error);
        Assert.EndsWith("(see 'natem translate --help')", error.TrimEnd());
    }

    [Fact]
    public void AnOutputThatIsADirectoryIsAnEnvironmentErrorNamingIt()
    {
        var (exitCode, _, error) = TinyModels.Run("translate", "--model", models.Ar, "--input", models.WriteLines("red cat"), "--output", models.Scratch);

        Assert.Equal(ExitCodes.Environment, exitCode);
        Assert.Equal($"natem: error: {models.Scratch}: is a directory; expected a file name to write", error.TrimEnd());
    }

    [Fact]
    public void ARunDirectoryStandsForItsBestCheckpointOrElseItsLast()
    {
        var input = models.WriteLines("red cat sees the dog", "a big fish eats");
        var best = Path.Combine(models.ArRun, "checkpoint_best");
        var (exitCode, output, error) = TinyModels.Run("translate", "--model", models.ArRun, "--input", input);

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Equal($"natem: {models.ArRun} is a run directory: using {best} (its best checkpoint)", error.TrimEnd());
        Assert.Equal(TinyModels.Run("translate", "--model", best, "--input", input).Output, output);

        // An interrupted run may have only checkpoint_last (a link inside the run, as the trainer writes it).
        var interrupted = models.NewPath("interrupted-run");
        var checkpoint = Path.Combine(interrupted, "checkpoints", "update_0000024");
        Directory.CreateDirectory(checkpoint);
        foreach (var file in Directory.GetFiles(models.Ar)) File.Copy(file, Path.Combine(checkpoint, Path.GetFileName(file)));
        Directory.CreateSymbolicLink(Path.Combine(interrupted, "checkpoint_last"), Path.Combine("checkpoints", "update_0000024"));
        (exitCode, output, error) = TinyModels.Run("translate", "--model", interrupted, "--input", input);

        Assert.True(exitCode == ExitCodes.Ok, error);
        Assert.Contains($"using {Path.Combine(interrupted, "checkpoint_last")} (its last checkpoint, since it has no checkpoint_best yet)", error);
        Assert.Equal(TinyModels.Run("translate", "--model", models.Ar, "--input", input).Output, output);
    }
}
