using System.Globalization;
using System.Text.Json;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Training;
using Spectre.Console;
using static NatEm.Cli.ConsoleTables;

namespace NatEm.Cli;

/// <summary>
/// Shows a training run with a console progress bar and one line per validation; when the console is not
/// interactive, one plain line per logged update and per validation instead (<see cref="ConsoleProgress"/>).
/// </summary>
public static class ConsoleTraining
{
    /// <summary>Where <see cref="ValidationProgress"/> goes while <see cref="Run"/> shows a training run.</summary>
    private static Action<int, int>? s_validationSink;

    /// <summary>Progress of the validation decoding of the run <see cref="Run"/> is showing (ignored outside one).</summary>
    public static IProgress<(int Done, int Total)> ValidationProgress { get; } =
        new SynchronousProgress<(int Done, int Total)>(p => s_validationSink?.Invoke(p.Done, p.Total));

    public static void PrintConfiguration(string title, object configuration)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]{title}[/]");
        Console.WriteLine(JsonSerializer.Serialize(configuration, OnDiskJson.Options));
    }

    /// <summary>
    /// Shows the run that <paramref name="train"/> makes (reporting to the progress it is given) on the terminal, or as plain
    /// lines on <paramref name="output"/> when one is given or the terminal is not interactive.
    /// </summary>
    public static TrainingResult Run(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train, TextWriter? output = null)
    {
        if (warning is not null) Console.Error.WriteLine($"natem: warning: {title}: {warning}");
        output ??= ConsoleProgress.IsLive(AnsiConsole.Console) ? null : Console.Out;
        var result = output is null ? RunLive(title, train) : RunPlain(title, train, output);
        var state = result.State;
        (output ?? Console.Out).WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{title}: stopped ({state.StopReason}) after {state.Update} updates, {state.ElapsedSeconds / 60:F1} min; best {result.BestCheckpoint} -> {new DirectoryInfo(result.BestCheckpoint).LinkTarget}"));
        return result;
    }

    private static TrainingResult RunPlain(string title, Func<IProgress<TrainingProgress>, TrainingResult> train, TextWriter output)
    {
        PercentLines? validation = null;
        int validations = 0;
        s_validationSink = (done, total) =>
        {
            if (done == 0 || validation is null) validation = new PercentLines($"{title}: validation {++validations} decoding", output);
            validation.Report(done, total);
        };
        try
        {
            return train(new SynchronousProgress<TrainingProgress>(p => output.WriteLine(p.ValidLoss is null ? UpdateLine(title, p) : ValidationLine(title, p))));
        }
        finally
        {
            s_validationSink = null;
        }
    }

    private static TrainingResult RunLive(string title, Func<IProgress<TrainingProgress>, TrainingResult> train)
    {
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: 1.0);
                s_validationSink = (done, total) => task.Description = $"{title} | validation decoding {done}/{total}";
                var progress = new SynchronousProgress<TrainingProgress>(p =>
                {
                    if (p.ValidLoss is not null) AnsiConsole.MarkupLineInterpolated($"[grey]{ValidationLine(title, p)}[/]");
                    else task.Description = UpdateLine(title, p);
                    if (p.Fraction is { } f) task.Value = f;
                });
                try
                {
                    result = train(progress);
                }
                finally
                {
                    s_validationSink = null;
                }
                task.Value = 1.0;
            });
        return result!;
    }

    private static string UpdateLine(string title, TrainingProgress p) =>
        $"{title} | upd {p.Update} ep {p.Epoch} | loss {F(p.Loss)} ppl {F(p.Perplexity)}" + (p.LengthLoss is { } l ? $" len {F(l)}" : "")
        + (p.RevealedFraction is { } r ? string.Create(CultureInfo.InvariantCulture, $" glanced {100 * r:F0}%") : "")
        + string.Create(CultureInfo.InvariantCulture, $" | {p.TokensPerSecond:F0} tok/s | lr {p.LearningRate:G3}")
        + (p.Fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $" | {100 * f:F0}%") : "");

    private static string ValidationLine(string title, TrainingProgress p) =>
        $"{title}: update {p.Update} epoch {p.Epoch}: valid loss {F(p.ValidLoss!.Value)}{(p.ValidBleu is { } b ? $" BLEU {F(b)}" : "")}";
}
