using System.Globalization;
using System.Text;
using System.Text.Json;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;

namespace NatEm.Em;

/// <summary>Writes an EM report as report.json, report.md (a Markdown table) and em.png (NAR BLEU and repetition per round).</summary>
public static class EmReportWriter
{
    private const string JsonFile = "report.json", MarkdownFile = "report.md", PlotFile = "em.png";

    /// <summary>The files <see cref="Write"/> writes into the run directory.</summary>
    public static IReadOnlyList<string> Files => [JsonFile, MarkdownFile, PlotFile];

    public static void Write(string runDir, EmReport report)
    {
        AtomicFile.WriteAllText(Path.Combine(runDir, JsonFile), JsonSerializer.Serialize(report, OnDiskJson.Options));
        AtomicFile.WriteAllText(Path.Combine(runDir, MarkdownFile), Markdown(report));
        Plot(report, Path.Combine(runDir, PlotFile));
    }

    public static string Markdown(EmReport report)
    {
        static string F(double? v, string format = "F2") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        var text = new StringBuilder();
        text.AppendLine("| round | AR valid BLEU (greedy) | NAR valid BLEU odd | NAR valid BLEU argmax | repetition | length acc. | NAR train NLL/token | selected log-lik/token | changed | target entropy (bits) | minutes |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in report.Rounds)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.Round} | {F(r.ArValidBleu)} | {F(r.NarValidBleuOdd)} | {F(r.NarValidBleuArgmax)} | {F(r.RepetitionRate, "P1")} | {F(r.LengthAccuracy, "P1")} | {F(r.NarTrainNll, "F3")} | {F(r.SelectedLogLikelihood, "F3")} | {F(r.ChangedFraction, "P1")} | {F(r.TargetEntropy, "F3")} | {F(r.StageSeconds.Values.Sum() / 60, "F1")} |");
        var selections = report.Rounds.SelectMany(r => r.Selection.Select(s => (r.Round, Statistics: s))).ToList();
        if (selections.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Selection: what each criterion chose from the same candidates and NAR scores (AR rank 1 = the beam's first).");
            text.AppendLine();
            text.AppendLine("| round | criterion | used | not rank 1 | share by AR rank 1, 2, 3, … | tokens vs rank 1 | shorter than rank 1 | longer than rank 1 | sources with no finite score |");
            text.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var (round, st) in selections)
                text.AppendLine(CultureInfo.InvariantCulture, $"| {round} | {st.Criterion} | {(st.Used ? "yes" : "no")} | {F(st.NotFirst, "P1")} | {string.Join(" · ", st.RankShares.Select(x => F(x, "P1")))} | {F(st.TokensVsFirst, "F3")} | {F(st.ShorterThanFirst, "P1")} | {F(st.LongerThanFirst, "P1")} | {st.Unscorable} |");
        }
        return text.ToString();
    }

    private static void Plot(EmReport report, string path)
    {
        var rows = report.Rounds.Where(r => r.NarValidBleuOdd is not null).ToList();
        var plot = new ScottPlot.Plot();
        double[] xs = Enumerable.Range(1, rows.Count).Select(i => (double)i).ToArray();
        var bleu = plot.Add.Scatter(xs, rows.Select(r => r.NarValidBleuOdd!.Value).ToArray());
        bleu.LegendText = "NAR valid BLEU (odd)";
        var repetition = plot.Add.Scatter(xs, rows.Select(r => 100 * (r.RepetitionRate ?? 0)).ToArray());
        repetition.LegendText = "repetition rate (%)";
        plot.Axes.Bottom.SetTicks(xs, rows.Select(r => r.Round).ToArray());
        plot.Axes.Bottom.Label.Text = "EM round";
        plot.Title("NatEm EM rounds");
        plot.ShowLegend();
        var temp = path + ".tmp.png";
        plot.SavePng(temp, 800, 450);
        File.Move(temp, path, overwrite: true);
    }
}
