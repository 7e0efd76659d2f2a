using System.Globalization;
using System.Text.Json;
using NatEm.Data;
using NatEm.Modeling;

namespace NatEm.Evaluation;

/// <summary>Writes a decoding benchmark as bench.json (snake_case) and bench.png (BLEU against batch-1 latency, log x).</summary>
public static class BenchmarkReportWriter
{
    public const string JsonFile = "bench.json", PlotFile = "bench.png";

    public static void Write(string dir, BenchmarkResult result)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, JsonFile), JsonSerializer.Serialize(result, ModelStore.Json));
        if (result.Decoders.All(d => d.Latency is not null))
            AtomicFile.WriteAllBytes(Path.Combine(dir, PlotFile), Plot(result));
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
