using System.CommandLine;
using System.Globalization;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.Modeling;
using Spectre.Console;
using static NatEm.Cli.ConsoleTables;

namespace NatEm.Cli.Commands;

/// <summary>`natem bench`: quality and decoding speed of AR and NAR decoders on one split, with a hardware floor estimate.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var ar = new Option<string>("--ar") { Description = "AR model directory", Required = true };
        var nar = new Option<string[]>("--nar")
        {
            Description = "NAR model directory (same vocabulary); repeat as --nar LABEL=DIR to compare several NAR models in one run",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var fullGrid = new Option<bool>("--full-grid") { Description = "Time argmax, dedup and odd each alone, with length beam 3, and with AR re-scoring (default: argmax, odd and odd's two variants); a CTC model, which ignores --decoder, gets its one decoder's three" };
        var data = SharedOptions.Data();
        var split = SharedOptions.Split();
        var limit = SharedOptions.Limit();
        var flags = new RecordOptions<DecodingBenchmarkOptions>(new())
        {
            { "--batch-sizes", "Comma-separated batch sizes; must include 1 (latency, floor ratio and plot come from the batch-1 run)",
                o => string.Join(',', o.BatchSizes), (o, v) => o with { BatchSizes = ParseBatchSizes(v) } },
            { "--untimed-sentences", "Sentences decoded untimed before timing each batch size", o => o.UntimedSentences, (o, v) => o with { UntimedSentences = v } },
            { "--repeat", "Timed runs per batch size; the fastest counts", o => o.Repeats, (o, v) => o with { Repeats = v } },
        };
        var runtime = new RuntimeOptionsBinder(withPrecision: false);
        var precisions = new Option<string?>("--precision")
        {
            Description = "Comma-separated precisions to time every decoder in (Fp32, Bf16), weights cast once at load; decoders other than fp32 are labelled with theirs "
                + $"(default: Fp32 and, where the CPU has native bf16, Bf16; here {string.Join(',', DefaultPrecisions)})",
        };
        var output = SharedOptions.Out($"{BenchmarkReportWriter.JsonFile}, {BenchmarkReportWriter.MarkdownFile} and {BenchmarkReportWriter.PlotFile}", ".");

        var command = new Command("bench", "Measure BLEU, latency and throughput of AR and NAR decoders, against this machine's speed floor");
        command.Add([ar, nar, fullGrid, data, split, limit, .. flags, precisions, output, .. runtime.All]);
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var options = flags.Apply(p);
            options.Validate();
            if (!options.BatchSizes.Contains(1)) throw new NatEmException("--batch-sizes must include 1", ExitCodes.Usage);
            int threadCount = runtime.Bind(p).ResolvedThreads;

            var prepared = PreparedData.Load(p.GetValue(data)!);
            var test = prepared.Split(p.GetValue(split)!);
            if (p.GetValue(limit) is { } n) test = test.Take(n);
            var narDirectories = ParseNarModels(p.GetValue(nar)!);
            var decoders = ParsePrecisions(p.GetValue(precisions)).SelectMany(precision =>
            {
                LoadedModel Load(string dir, ModelKind kind)
                {
                    var loaded = PreparedDataModels.LoadMatching(ModelArguments.Resolve(p, dir), kind, prepared);
                    loaded.Model.FreezeForInference(precision);
                    return loaded;
                }
                var narModels = narDirectories.Select(n => new BenchNarModel(n.Label, Load(n.Directory, ModelKind.NonAutoregressive))).ToList();
                return DecodingBenchmark.StandardDecoders(Load(p.GetValue(ar)!, ModelKind.Autoregressive), narModels, p.GetValue(fullGrid))
                    .Select(d => precision == Precision.Fp32 ? d : d with { Name = $"{d.Name} ({precision.ToString().ToLowerInvariant()})" });
            }).ToList();

            var machine = MachineSpeed.Measure();
            AnsiConsole.MarkupLineInterpolated($"[grey]this machine at {threadCount} thread(s): matrix product {machine.MatmulGflops:F1} GFLOP/s, copy {machine.CopyGigabytesPerSecond:F1} GB/s[/]");
            var result = DecodingBenchmark.Run(decoders, test, options, machine,
                new SynchronousProgress<string>(name => AnsiConsole.MarkupLineInterpolated($"[grey]timing {name}…[/]")));

            var dir = p.GetValue(output)!;
            BenchmarkReportWriter.Write(dir, result);
            PrintTable(result, $"{test.Name}, {test.Count} sentences, threads {threadCount}");
            AnsiConsole.MarkupLineInterpolated($"Written: {string.Join(", ", new[] { BenchmarkReportWriter.JsonFile, BenchmarkReportWriter.MarkdownFile, BenchmarkReportWriter.PlotFile }.Select(f => Path.Combine(dir, f)))}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// The benchmark as console tables: batch-1 latency against the floor (when batch 1 was timed), then throughput
    /// per batch size. A "–" marks a figure that was not measured.
    /// </summary>
    public static void PrintTable(BenchmarkResult result, string title)
    {
        var batchSizes = result.Decoders[0].Throughput.Select(t => t.BatchSize).ToList();
        int largest = batchSizes.Max();
        // BLEU and chrF go in the latency table, or in the throughput table when there is none.
        bool hasLatency = result.Decoders.Any(r => r.Latency is not null);
        if (hasLatency)
        {
            var latency = new Table().AddColumns("decoder", "BLEU", "chrF", "p50", "p90", "p99", "mean", "floor", "× floor", "speedup");
            foreach (var r in result.Decoders)
                latency.AddRow(r.Name, F(r.Bleu), F(r.Chrf), F(r.Latency?.P50Ms, "F1"), F(r.Latency?.P90Ms, "F1"), F(r.Latency?.P99Ms, "F1"),
                    F(r.Latency?.MeanMs, "F1"), F(r.FloorMs, "F3"), F(r.LatencyOverFloor, "F0"), F(r.SpeedupAtBatch1, "F1") + "x");
            ConsoleTables.Write($"{title}: batch-1 latency (ms)", latency);
        }
        var throughput = new Table().AddColumn("decoder");
        if (!hasLatency) throughput.AddColumns("BLEU", "chrF");
        foreach (int size in batchSizes) throughput.AddColumn(size.ToString(CultureInfo.InvariantCulture));
        throughput.AddColumns($"tokens/s at {largest}", $"speedup at {largest}", "peak MB");
        foreach (var r in result.Decoders)
        {
            string[] quality = hasLatency ? [] : [F(r.Bleu), F(r.Chrf)];
            throughput.AddRow([r.Name, .. quality, .. r.Throughput.Select(t => F(t.SentencesPerSecond, "F1")),
                F(r.AtLargestBatch.TargetTokensPerSecond, "F0"), F(r.SpeedupAtLargestBatch, "F1") + "x", F(r.PeakWorkingSetBytes / 1048576.0, "F0")]);
        }
        ConsoleTables.Write($"{title}: sentences/s by batch size", throughput);
        AnsiConsole.MarkupLineInterpolated($"[grey]Speedups are relative to {result.Baseline}; the floor is the least time this machine's measured speeds allow (see DecoderCost).[/]");
    }

    private static IReadOnlyList<Precision> DefaultPrecisions => Precisions.HasNativeBf16 ? [Precision.Fp32, Precision.Bf16] : [Precision.Fp32];

    /// <summary>`--precision` of bench: a comma-separated list; fp32 is always timed, as the speedups' baseline is an fp32 decoder.</summary>
    private static IReadOnlyList<Precision> ParsePrecisions(string? text)
    {
        if (text is null) return DefaultPrecisions;
        return [Precision.Fp32, .. PrecisionOption.ParseList(text).Where(p => p != Precision.Fp32)];
    }

    private static int[] ParseBatchSizes(string text) => text.Split(',', StringSplitOptions.TrimEntries).Select(item =>
        int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int size)
            ? size
            : throw new NatEmException($"--batch-sizes: '{item}' is not a whole number", ExitCodes.Usage)).ToArray();

    /// <summary>
    /// Reads `--nar` values: a single plain directory is labelled "NAR"; several models must each be given as
    /// LABEL=DIR and are labelled "NAR (LABEL)".
    /// </summary>
    public static IReadOnlyList<(string Label, string Directory)> ParseNarModels(IReadOnlyList<string> values)
    {
        if (values is [var only] && !only.Contains('=')) return [(DecodingBenchmark.NarLabel, only)];
        return values.Select(value => value.Split('=', 2) is [var label, var dir] && label.Length > 0 && dir.Length > 0
            ? ($"{DecodingBenchmark.NarLabel} ({label})", dir)
            : throw new NatEmException($"--nar '{value}': with several NAR models, give each as LABEL=DIR", ExitCodes.Usage)).ToList();
    }
}
