using System.Globalization;
using System.Text;
using System.Text.Json;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Evaluation;

/// <summary>One validation of a training run: where it stood and what it scored.</summary>
public sealed record ValidationPoint(int Update, int Epoch, double Hours, double ValidLoss, double? ValidBleu);

/// <summary>A run's validation curve, read from its <c>train_log.jsonl</c>.</summary>
public sealed record TrainingCurve(string Label, IReadOnlyList<ValidationPoint> Points)
{
    public const string LogFile = CheckpointDirectory.LogFile;
    /// <summary>The plot's name in the directory `natem curve --out` names.</summary>
    public const string PlotFile = "curve.png";

    /// <summary>Reads the validations of the run in <paramref name="runDir"/>; a malformed line is an error naming it.</summary>
    public static TrainingCurve Read(string label, string runDir)
    {
        var path = Path.Combine(runDir, LogFile);
        if (!File.Exists(path)) throw NatEmException.In(path, "missing: not a training run directory (natem train-ar / train-nar)");
        var points = new List<ValidationPoint>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            TrainingProgress? entry;
            try
            {
                entry = JsonSerializer.Deserialize<TrainingProgress>(line, OnDiskJson.Options);
            }
            catch (JsonException e)
            {
                throw NatEmException.At(path, lineNumber, $"not a training log entry ({e.Message})");
            }
            if (entry?.ValidLoss is { } loss)
                points.Add(new ValidationPoint(entry.Update, entry.Epoch, entry.ElapsedSeconds / 3600, loss, entry.ValidBleu));
        }
        return new TrainingCurve(label, points);
    }

    /// <summary>The validations as a Markdown table (BENCHMARKS.md).</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder($"| {Label}: update | epoch | hours | valid loss | valid BLEU |\n|---|---|---|---|---|\n");
        foreach (var p in Points)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Update} | {p.Epoch} | {p.Hours:F2} | {p.ValidLoss:F3} | {(p.ValidBleu is { } b ? b.ToString("F2", CultureInfo.InvariantCulture) : "–")} |"));
        return text.ToString();
    }

    /// <summary>
    /// PNG of validation BLEU (solid, left axis) and loss (dashed, right axis) of several runs against updates; the top
    /// axis marks the wall-clock hours of training of the first run.
    /// </summary>
    public static void WritePlot(IReadOnlyList<TrainingCurve> curves, string path)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < curves.Count; i++)
        {
            var color = palette.GetColor(i);
            var points = curves[i].Points;
            var withBleu = points.Where(p => p.ValidBleu is not null).ToList();
            var bleu = plot.Add.Scatter(withBleu.Select(p => (double)p.Update).ToArray(), withBleu.Select(p => p.ValidBleu!.Value).ToArray(), color);
            bleu.LegendText = $"{curves[i].Label}: valid BLEU";
            var loss = plot.Add.Scatter(points.Select(p => (double)p.Update).ToArray(), points.Select(p => p.ValidLoss).ToArray(), color);
            loss.LinePattern = ScottPlot.LinePattern.Dashed;
            loss.Axes.YAxis = plot.Axes.Right;
            loss.LegendText = $"{curves[i].Label}: valid loss";
        }
        plot.Axes.Left.Label.Text = "validation BLEU";
        plot.Axes.Right.Label.Text = "validation loss (label-smoothed)";
        plot.ShowLegend(ScottPlot.Alignment.MiddleRight); // BLEU ends high on the right, loss low
        plot.Axes.AutoScale();
        plot.Axes.Bottom.Label.Text = "updates";
        if (curves.FirstOrDefault(c => c.Points.Count > 0) is { } first)
        {
            // The hour ticks sit at update positions, so the top axis must span what the bottom one does. ScottPlot 5.1
            // draws a top-axis label above the image's edge, so the bottom label explains the top axis instead.
            var (positions, labels) = HourTicks(first.Points);
            plot.Axes.Top.SetTicks(positions, labels);
            plot.Axes.Top.Min = plot.Axes.Bottom.Min;
            plot.Axes.Top.Max = plot.Axes.Bottom.Max;
            plot.Axes.Bottom.Label.Text = $"updates (top axis: wall-clock hours of training of {first.Label})";
        }
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(1000, 550, ScottPlot.ImageFormat.Png));
    }

    /// <summary>The update at which each whole (or half, for short runs) hour was reached, interpolated between validations.</summary>
    private static (double[] Positions, string[] Labels) HourTicks(IReadOnlyList<ValidationPoint> points)
    {
        double total = points[^1].Hours, step = total >= 3 ? 1 : 0.5;
        var positions = new List<double>();
        var labels = new List<string>();
        var previous = new ValidationPoint(0, 0, 0, 0, null);
        foreach (var point in points)
        {
            for (double h = Math.Ceiling(previous.Hours / step) * step; h <= point.Hours; h += step)
            {
                if (h <= previous.Hours) continue;
                positions.Add(previous.Update + (point.Update - previous.Update) * (h - previous.Hours) / (point.Hours - previous.Hours));
                labels.Add(h.ToString("0.#", CultureInfo.InvariantCulture) + " h");
            }
            previous = point;
        }
        return (positions.ToArray(), labels.ToArray());
    }
}
