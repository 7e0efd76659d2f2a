using System.Globalization;
using System.Text;
using System.Text.Json;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;

namespace NatEm.Evaluation;

/// <summary>
/// Writes a decoding benchmark as bench.json (snake_case), bench.md (the same figures as Markdown tables, ready for
/// BENCHMARKS.md) and bench.png (BLEU against batch-1 latency, log x).
/// </summary>
public static class BenchmarkReportWriter
{
    public const string JsonFile = "bench.json", MarkdownFile = "bench.md", PlotFile = "bench.png";

    public static void Write(string dir, BenchmarkResult result)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, JsonFile), JsonSerializer.Serialize(result, OnDiskJson.Options));
        AtomicFile.WriteAllText(Path.Combine(dir, MarkdownFile), Markdown(result));
        if (result.Decoders.All(d => d.Latency is not null))
            AtomicFile.WriteAllBytes(Path.Combine(dir, PlotFile), Plot(result));
    }

    public static string Markdown(BenchmarkResult result)
    {
        static string F(double? v, string format = "F1") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        var e = result.Environment;
        var batchSizes = result.Decoders[0].Throughput.Select(t => t.BatchSize).ToList();
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{result.Data.Split} split, {result.Data.Sentences} sentences (mean {F(result.Data.MeanSourceTokens)} source / {F(result.Data.MeanTargetTokens)} reference tokens); ")
            + string.Create(CultureInfo.InvariantCulture, $"{e.Date:yyyy-MM-dd}, {e.Cores} cores, {e.Threads} threads, {e.Os}, {e.DotNet}, TorchSharp {e.TorchSharp}")
            + (result.Machine is { } m ? $"; measured matmul {F(m.MatmulGflops)} GFLOP/s, copy {F(m.CopyGigabytesPerSecond)} GB/s" : ""));
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"| decoder | BLEU | chrF | p50 ms | p90 ms | p99 ms | mean ms | floor ms | × floor | {string.Join(" | ", batchSizes.Select(b => $"sent/s @{b}"))} | speedup @1 | speedup @{batchSizes.Max()} | peak MB |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|---|---|---|---|---|---|---|---|{string.Concat(batchSizes.Select(_ => "---|"))}---|---|---|");
        foreach (var d in result.Decoders)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {d.Name} | {F(d.Bleu, "F2")} | {F(d.Chrf, "F2")} | {F(d.Latency?.P50Ms)} | {F(d.Latency?.P90Ms)} | {F(d.Latency?.P99Ms)} | {F(d.Latency?.MeanMs)} | "
                + $"{F(d.FloorMs)} | {F(d.LatencyOverFloor)} | {string.Join(" | ", batchSizes.Select(b => F(d.AtBatch(b)?.SentencesPerSecond)))} | "
                + $"{F(d.SpeedupAtBatch1)}x | {F(d.SpeedupAtLargestBatch)}x | {d.PeakWorkingSetBytes / (1 << 20)} |");
        return text.ToString();
    }

    private static byte[] Plot(BenchmarkResult result)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < result.Decoders.Count; i++)
        {
            var decoder = result.Decoders[i];
            // ScottPlot has no log axis: points sit at log10(ms) and the tick labels undo the log.
            double x = Math.Log10(decoder.Latency!.MeanMs);
            var marker = plot.Add.Marker(x, decoder.Bleu);
            marker.Color = palette.GetColor(i);
            marker.Size = 10;
            var label = plot.Add.Text(decoder.Name, x, decoder.Bleu);
            label.LabelFontColor = palette.GetColor(i);
            label.LabelFontSize = 12;
            label.OffsetX = 7;
        }
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = log => Math.Pow(10, log).ToString("G3", CultureInfo.InvariantCulture),
        };
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.Label.Text = "mean latency per sentence at batch 1 (ms, log scale)";
        plot.Axes.Left.Label.Text = "BLEU";
        plot.Title($"{result.Data.Split}, {result.Data.Sentences} sentences, threads {result.Environment.Threads}");
        plot.Axes.Margins(0.25, 0.15);
        return plot.GetImageBytes(900, 500, ScottPlot.ImageFormat.Png);
    }
}
