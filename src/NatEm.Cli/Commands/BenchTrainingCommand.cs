using System.CommandLine;
using System.Globalization;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;
using Spectre.Console;

namespace NatEm.Cli.Commands;

/// <summary>`natem bench-training`: training throughput of the AR or NAR trainer in each precision beside a libtorch peer of the same shape.</summary>
public static class BenchTrainingCommand
{
    private static readonly TrainingBenchmarkOptions Defaults = new();

    public static Command Create()
    {
        var data = SharedOptions.Data();
        var preset = new Option<string>("--preset") { Description = "Model size: tiny, small or base", DefaultValueFactory = _ => Defaults.Preset };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Padded tokens per batch", DefaultValueFactory = _ => Defaults.MaxTokens };
        var untimed = new Option<int>("--untimed-updates") { Description = "Updates run untimed before the timed ones", DefaultValueFactory = _ => Defaults.UntimedUpdates };
        var updates = new Option<int>("--updates") { Description = "Timed updates per trainer", DefaultValueFactory = _ => Defaults.TimedUpdates };
        var nar = new Option<bool>("--nar") { Description = "Time the NAR trainer (plain and glancing, uniform-copy inputs) instead of the AR trainer" };
        var precisions = new Option<string>("--precision") { Description = "Comma-separated precisions of the NatEm trainer", DefaultValueFactory = _ => string.Join(',', Defaults.Precisions) };
        var runtime = new RuntimeOptionsBinder(withPrecision: false);

        var command = new Command("bench-training", "Measure training target tokens/s of the AR (or --nar: NAR, plain and glancing) trainer in fp32 and bf16, beside libtorch's Transformer modules of the same shape");
        foreach (var option in new Option[] { data, preset, nar, maxTokens, untimed, updates, precisions })
            command.Options.Add(option);
        runtime.AddTo(command);
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            int threads = runtime.Bind(p).ResolvedThreads;
            var options = new TrainingBenchmarkOptions
            {
                Preset = p.GetValue(preset)!,
                Kind = p.GetValue(nar) ? ModelKind.NonAutoregressive : ModelKind.Autoregressive,
                MaxTokens = p.GetValue(maxTokens),
                UntimedUpdates = p.GetValue(untimed),
                TimedUpdates = p.GetValue(updates),
                Precisions = PrecisionOption.ParseList(p.GetValue(precisions)!),
            };
            var prepared = PreparedData.Load(p.GetValue(data)!);
            var train = ParallelExamples.Of(prepared.Split("train"));
            var results = TrainingBenchmark.Run(train, prepared.Tokenizer.VocabSize, options,
                new SynchronousProgress<string>(name => AnsiConsole.MarkupLineInterpolated($"[grey]timing {name}…[/]")));

            var first = results[0].MedianTargetTokensPerSecond;
            var peer = results[^1].MedianTargetTokensPerSecond;
            var table = new Table().AddColumns("trainer", "median", "min", "max", $"× {results[0].Name}", "× peer");
            foreach (var r in results)
                table.AddRow(r.Name, F(r.MedianTargetTokensPerSecond, "F0"), F(r.MinTargetTokensPerSecond, "F0"), F(r.MaxTargetTokensPerSecond, "F0"),
                    F(r.MedianTargetTokensPerSecond / first, "F2"), F(r.MedianTargetTokensPerSecond / peer, "F2"));
            ConsoleTables.Write($"training target tokens/s, {options.Preset}, {options.MaxTokens}-token batches, {options.TimedUpdates} timed updates, {threads} threads, {NativeAllocator.Current} allocator", table);
            var padding = TrainingBenchmark.Padding(train, options);
            AnsiConsole.WriteLine($"padding in the timed batches: {padding.Source:P1} of source positions, {padding.Target:P1} of target positions");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
