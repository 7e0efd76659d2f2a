using System.CommandLine;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Modeling;
using NatEm.Training;
using Spectre.Console;
using static NatEm.Cli.ConsoleTables;

namespace NatEm.Cli.Commands;

/// <summary>`natem bench-training`: training throughput of the AR or NAR trainer in each precision beside a libtorch peer of the same shape.</summary>
public static class BenchTrainingCommand
{
    public static Command Create()
    {
        var data = SharedOptions.Data();
        var flags = new RecordOptions<TrainingBenchmarkOptions>(new())
        {
            { "--preset", "Model size: tiny, small or base", o => o.Preset, (o, v) => o with { Preset = v } },
            { "--nar", "Time the NAR trainer (plain and glancing, uniform-copy inputs) instead of the AR trainer", o => o with { Kind = ModelKind.NonAutoregressive } },
            { "--max-tokens", "Padded tokens per batch", o => o.MaxTokens, (o, v) => o with { MaxTokens = v } },
            { "--untimed-updates", "Updates run untimed before the timed ones", o => o.UntimedUpdates, (o, v) => o with { UntimedUpdates = v } },
            { "--updates", "Timed updates per trainer", o => o.TimedUpdates, (o, v) => o with { TimedUpdates = v } },
        };
        var precisions = new Option<string>("--precision") { Description = "Comma-separated precisions of the NatEm trainer", DefaultValueFactory = _ => string.Join(',', new TrainingBenchmarkOptions().Precisions) };
        var runtime = new RuntimeOptionsBinder(withPrecision: false);

        var command = new Command("bench-training", "Measure training target tokens/s of the AR (or --nar: NAR, plain and glancing) trainer in fp32 and bf16, beside libtorch's Transformer modules of the same shape")
            { data, flags, precisions, runtime.All };
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            int threads = runtime.Bind(p).ResolvedThreads;
            var options = flags.Apply(p) with { Precisions = PrecisionOption.ParseList(p.GetValue(precisions)!) };
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
}
