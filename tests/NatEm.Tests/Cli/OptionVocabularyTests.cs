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
            Assert.Contains("--threads must be between 1 and", error);
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

    /// <summary>Every option of every command, with its command's name, for the rules that hold for all of them.</summary>
    private static IEnumerable<(string Command, System.CommandLine.Option Option)> AllOptions() =>
        CommandCatalog.All().SelectMany(c => c.Options.Select(o => (c.Name, o)));

    private static bool IsOfType<T>(System.CommandLine.Option option) where T : struct =>
        option.ValueType == typeof(T) || option.ValueType == typeof(T?);

    internal static void AssertOneLineUsageError(string expected, (int ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == ExitCodes.Usage, $"exit {run.ExitCode}: {run.Error}");
        Assert.Contains(expected, run.Error);
        Assert.Single(run.Error.TrimEnd().Split('\n'));
        Assert.DoesNotContain("System.", run.Error);
    }

    /// <summary>
    /// A flag that several commands declare means one thing: it has one description, from <see cref="SharedOptions"/>
    /// or a binder (--out and --force: one phrase, then what the directory holds).
    /// </summary>
    [Fact]
    public void AFlagDeclaredBySeveralCommandsHasOneDescription()
    {
        // Names still used with a different meaning per command: a list to shrink, not to grow.
        string[] differing = ["--nbest", "--nar", "--src", "--run", "--output", "--precision", "--api-key"];
        var shared = AllOptions().GroupBy(o => o.Option.Name).Where(g => g.Select(o => o.Command).Distinct().Count() > 1).ToList();
        Assert.Contains(shared, g => g.Key == "--data");
        foreach (var flag in shared)
        {
            var descriptions = flag.Select(o => o.Option.Description ?? "").Distinct().ToList();
            if (flag.Key == "--out") Assert.All(descriptions, d => Assert.StartsWith(SharedOptions.OutPrefix, d));
            else if (flag.Key == "--force") Assert.All(descriptions, d => Assert.StartsWith(SharedOptions.ForcePrefix, d));
            else if (differing.Contains(flag.Key)) Assert.True(descriptions.Count > 1, $"{flag.Key} now has one description: take it off the list");
            else Assert.True(descriptions.Count == 1, $"{flag.Key}: {string.Join(" | ", descriptions)}");
        }
        foreach (var option in new System.CommandLine.Option[] { SharedOptions.Data(), SharedOptions.Model(), SharedOptions.Json(), SharedOptions.Split(), SharedOptions.Limit() })
            Assert.All(AllOptions().Where(o => o.Option.Name == option.Name), o => Assert.Equal(option.Description, o.Option.Description));
    }

    /// <summary>--limit (SharedOptions) is checked when parsed, in every command that takes it, before a model or data is read.</summary>
    [Theory]
    [InlineData("eval", "--model")]
    [InlineData("bench", "--ar", "--nar")]
    public void ALimitBelowOneIsAUsageErrorBeforeAnythingIsRead(string command, params string[] modelOptions)
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dir");
        var run = TinyModels.Run([command, .. modelOptions.SelectMany(o => new[] { o, missing }), "--data", missing, "--limit", "0"]);
        AssertOneLineUsageError("--limit must be at least 1", run);
        Assert.DoesNotContain("no-such-dir", run.Error);
    }

    /// <summary>
    /// Help shows each default as the option records hold it, and the record is the binder's: em's training defaults
    /// (and the demo's) are not a new <see cref="TrainingOptions"/>'.
    /// </summary>
    [Fact]
    public void EveryCommandsHelpShowsTheDefaultsOfItsRecords()
    {
        var em = new NatEm.Em.EmOptions();
        var demo = DemoCommand.DemoEm;
        var translation = new TranslationOptions();
        var serve = new NatEm.Cli.Serving.ServeOptions();
        var prepare = new NatEm.Data.PrepareOptions { OutputDirectory = "" };
        object[][] expected =
        [
            ["train-ar", "--max-tokens", new TrainingOptions().MaxTokens], ["train-ar", "--lr", new TrainingOptions().LearningRate],
            ["train-ar", "--validate-every", new TrainingOptions().ValidateEvery], ["train-ar", "--best-metric", new TrainingOptions().BestMetric],
            ["train-nar", "--upsample", new ArchitectureOptions().Upsample], ["train-nar", "--length-loss-weight", new TrainingOptions().LengthLossWeight],
            ["train-nar", "--preset", new ArchitectureOptions().Preset], ["train-nar", "--distill-beam", new NarTargets().DistillBeam],
            ["train-nar", "--chunk-size", new NarTargets().ChunkSize], ["em", "--chunk-size", em.ChunkSize], ["demo", "--chunk-size", demo.ChunkSize],
            ["em", "--validate-every", em.NarTraining.ValidateEvery], ["em", "--patience", em.NarTraining.Patience!], ["em", "--max-epochs", em.NarTraining.MaxEpochs!],
            ["em", "--iterations", em.Iterations], ["em", "--selection-score", em.SelectionScore],
            ["demo", "--warmup", demo.NarTraining.WarmupUpdates], ["demo", "--iterations", demo.Iterations], ["demo", "--decoder-input", demo.Architecture.DecoderInput],
            ["translate", "--beam", translation.Beam.Beam], ["translate", "--length-penalty", translation.Beam.LengthPenalty], ["eval", "--decoder", translation.Nar.Decoder],
            ["eval", "--batch-size", translation.BatchSize], ["serve", "--max-input-tokens", translation.MaxInputTokens], ["serve", "--workers", serve.Batching.Workers],
            ["bench", "--untimed-sentences", new NatEm.Evaluation.DecodingBenchmarkOptions().UntimedSentences],
            ["bench-training", "--untimed-updates", new NatEm.Evaluation.TrainingBenchmarkOptions().UntimedUpdates],
            ["loadtest", "--route", new NatEm.Cli.Serving.LoadTestOptions { Url = new Uri(serve.Urls), Texts = [] }.Route],
            ["prepare", "--merges", prepare.Merges], ["prepare", "--max-ratio", prepare.Filter.MaxLengthRatio], ["prepare", "--split-seed", prepare.HoldOutSeed],
            ["score", "--tokenize", new NatEm.Evaluation.BleuOptions().Tokenizer.Name],
            ["export", "--format", default(WeightsFormat)], ["export", "--dtype", default(WeightsDtype)], ["average", "--dtype", default(WeightsDtype)],
        ];
        // The E-step's and the M-step's training options have the same defaults, so one help text is true of both.
        Assert.Equal(em.ArTraining, em.NarTraining);
        Assert.Equal(demo.ArTraining, demo.NarTraining);
        Assert.NotEqual(new TrainingOptions().ValidateEvery, em.NarTraining.ValidateEvery);
        Assert.NotEqual(new TrainingOptions().WarmupUpdates, demo.NarTraining.WarmupUpdates);

        foreach (var group in expected.GroupBy(e => (string)e[0]))
        {
            var (exitCode, help, _) = TinyModels.Run(group.Key, "--help");
            Assert.Equal(ExitCodes.Ok, exitCode);
            var lines = help.Split('\n');
            foreach (var (flag, value) in group.Select(e => ((string)e[1], e[2])))
            {
                var line = Assert.Single(lines, l => l.TrimStart().StartsWith(flag + " ", StringComparison.Ordinal));
                Assert.Contains($"[default: {Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)}]", line);
            }
        }
    }

    /// <summary>NaN and ±∞ slip through range checks (NaN &lt; 0 is false): every decimal option of every command refuses them when parsed.</summary>
    [Theory]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void EveryDecimalOptionRejectsNonFiniteValues(string value)
    {
        var decimals = AllOptions().Where(o => IsOfType<double>(o.Option)).ToList();
        Assert.Contains(decimals, o => o.Option.Name == "--length-penalty");
        Assert.Contains(decimals, o => o.Option.Name == "--smooth-value");
        foreach (var (command, option) in decimals)
            AssertOneLineUsageError($"{option.Name} must be a finite number, not '{value}'", TinyModels.Run(command, option.Name, value));
    }

    [Fact]
    public void NumbersThatDoNotParseAreOneLineNamingTheOption()
    {
        foreach (var (command, option) in AllOptions().Where(o => IsOfType<int>(o.Option) || IsOfType<long>(o.Option)))
            AssertOneLineUsageError($"{option.Name} must be a whole number, not 'many'", TinyModels.Run(command, option.Name, "many"));
    }

    /// <summary>Every option that names a choice (an enum, or a fixed list such as --metric) gives one line listing the valid values.</summary>
    [Fact]
    public void EveryChoiceOptionListsItsValuesInOneLine()
    {
        var choices = AllOptions().Where(o => Nullable.GetUnderlyingType(o.Option.ValueType) is { IsEnum: true } || o.Option.ValueType.IsEnum
                                              || o.Option.Name is "--metric" or "--tokenize" or "--smooth").ToList();
        Assert.Contains(choices, o => o.Command == "export" && o.Option.Name == "--dtype");
        foreach (var (command, option) in choices)
            AssertOneLineUsageError($"{option.Name} must be ", TinyModels.Run(command, option.Name, "bogus"));
        AssertOneLineUsageError("--dtype must be Fp32, Bf16 or Fp16, not 'Int8'", TinyModels.Run("export", "--model", "m", "--out", "o", "--dtype", "Int8"));
        AssertOneLineUsageError("--metric must be bleu, chrf or chrf++, not 'bogus'", TinyModels.Run("score", "--ref", "r", "--hyp", "h", "--metric", "bogus"));
    }

    /// <summary>A path with a newline or an ESC is echoed escaped: the error stays one line and sends no terminal command.</summary>
    [Theory]
    [InlineData("translate", "--model")]
    [InlineData("score", "--hyp")]
    public void ControlCharactersInPathsAreEscapedInErrors(string command, string option)
    {
        var path = Path.Combine(Path.GetTempPath(), "no\nsuch\u001b[31mdir");
        string[] args = command == "score" ? ["score", "--ref", path, option, path] : [command, option, path];

        var (exitCode, _, error) = TinyModels.Run(args);

        Assert.NotEqual(ExitCodes.Ok, exitCode);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.DoesNotContain('\u001b', error);
        Assert.Contains("no\\nsuch\\u001B[31mdir", error);
    }
}

/// <summary>The ranges of decimal and whole-number options, checked by their options records, through the command line.</summary>
[Collection(TinyModelsCollection.Name)]
public sealed class OptionRangeTests(TinyModels models)
{
    /// <summary>Finite values outside an option's range are usage errors too (they once ran: BLEU 100 with add-k -1, a FormatException for --width).</summary>
    [Theory]
    [InlineData("--length-penalty must be between 0 and 10", "translate", "--model", "M", "--input", "TEXT", "--length-penalty", "-1")]
    [InlineData("--length-penalty must be between 0 and 10", "translate", "--model", "M", "--input", "TEXT", "--length-penalty", "11")]
    [InlineData("--smooth-value must be a finite number of at least 0", "score", "--ref", "TEXT", "--hyp", "TEXT", "--smooth", "add-k", "--smooth-value", "-1")]
    [InlineData("--width must be between 0 and 17", "score", "--ref", "TEXT", "--hyp", "TEXT", "--width", "1000000000")]
    [InlineData("--length-loss-weight must be a finite number of at least 0", "train-nar", "--data", "DATA", "--out", "RUN", "--length-loss-weight", "-0.5", "--max-updates", "1")]
    [InlineData("--glancing ratios must be in [0, 1]", "train-nar", "--data", "DATA", "--out", "RUN", "--glancing", "NaN", "--max-updates", "1")]
    [InlineData("dropout must be in [0, 1)", "train-ar", "--data", "DATA", "--out", "RUN", "--init-from", "M", "--dropout", "1.5", "--max-updates", "1")]
    public void FiniteValuesOutOfRangeAreUsageErrors(string expected, params string[] args)
    {
        var run = TinyModels.Run([.. args.Select(a => a switch
        {
            "M" => models.Ar,
            "TEXT" => models.WriteLines("red cat"),
            "DATA" => models.Data.Directory,
            "RUN" => models.NewPath("run"),
            _ => a,
        })]);
        OptionVocabularyTests.AssertOneLineUsageError(expected, run);
    }
}
