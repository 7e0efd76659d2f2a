using NatEm.Cli;
using NatEm.Cli.Commands;
using NatEm.Decoding;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Tests.Cli;

/// <summary>One vocabulary of options: runtime options declared once, enum options parsed by one helper.</summary>
public class OptionVocabularyTests
{
    private static readonly string[] ModelCommands = ["train-ar", "train-nar", "em", "translate", "eval", "serve", "bench", "bench-training"];

    [Fact]
    public void EveryCommandThatRunsAModelTakesTheSameThreadsOptionWithItsDefaultDerived()
    {
        var commands = CommandCatalog.All().ToDictionary(c => c.Name);
        foreach (var name in ModelCommands)
        {
            var threads = commands[name].Options.Single(o => o.Name == "--threads");
            Assert.Equal($"libtorch threads (default: all cores, here {Environment.ProcessorCount})", threads.Description);
            Assert.False(threads.HasDefaultValue, name);
        }
        foreach (var name in new[] { "train-ar", "train-nar", "em", "translate", "eval", "serve" })
            Assert.Contains($"here {Precisions.MachineDefault})", commands[name].Options.Single(o => o.Name == "--precision").Description);
    }

    [Fact]
    public void ThreadsBelowOneIsAUsageErrorInEveryCommand()
    {
        foreach (var name in new[] { "translate", "serve", "bench-training" })
        {
            string[] required = name == "bench-training" ? ["--data", "x"] : ["--model", "x"];
            var (exitCode, _, error) = TinyModels.Run([name, .. required, "--threads", "0"]);
            Assert.Equal(ExitCodes.Usage, exitCode);
            Assert.Contains("--threads must be at least 1", error);
        }
    }

    [Theory]
    [InlineData("odd", NarDecoder.Odd)]
    [InlineData("ODD", NarDecoder.Odd)]
    [InlineData("ArgMax", NarDecoder.Argmax)]
    public void EnumNamesParseInAnyCase(string text, NarDecoder expected)
    {
        Assert.True(EnumOptions.TryParse<NarDecoder>(text, out var decoder));
        Assert.Equal(expected, decoder);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("best")]
    [InlineData("Odd,Argmax")]
    public void NumbersAndUnknownNamesAreRejectedWithTheAllowedNames(string text)
    {
        Assert.False(EnumOptions.TryParse<NarDecoder>(text, out _));
        var error = Assert.Throws<NatEmException>(() => EnumOptions.Parse<NarDecoder>("--decoder", text));
        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Equal($"--decoder must be Argmax, Dedup or Odd, not '{text}'", error.Message);
    }

    [Fact]
    public void EnumOptionsOfTrainingAreCaseInsensitiveAndListTheirNamesOnError()
    {
        var binder = new TrainingOptionsBinder(narArchitecture: true);
        var command = new System.CommandLine.Command("t");
        binder.AddTo(command);

        var options = binder.BindNar(command.Parse("--best-metric LOSS --precision fp32 --threads 1 --max-updates 1"));
        var architecture = binder.Architecture(command.Parse("--decoder-input uniformcopy --length-prediction OFFSET"));

        Assert.Equal((BestCheckpointMetric.Loss, Precision.Fp32, 1), (options.BestMetric, options.Precision, options.Threads));
        Assert.Equal((NarDecoderInput.UniformCopy, LengthPrediction.Offset), (architecture.DecoderInput, architecture.LengthPrediction));
        Assert.Equal(["--precision must be Fp32 or Bf16, not 'fp16'"], command.Parse("--precision fp16").Errors.Select(e => e.Message));
        Assert.Equal(["--best-metric must be Bleu or Loss, not 'bleu4'"], command.Parse("--best-metric bleu4").Errors.Select(e => e.Message));
    }
}
