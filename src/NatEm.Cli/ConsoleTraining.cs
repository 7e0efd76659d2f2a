using System.Globalization;
using System.Text.Json;
using NatEm.Data;
using NatEm.Modeling;
using NatEm.Training;
using Spectre.Console;

namespace NatEm.Cli;

/// <summary>Runs a <see cref="Trainer"/> with a console progress bar and one line per validation.</summary>
public static class ConsoleTraining
{
    public static void PrintConfiguration(string title, object configuration)
    {
        AnsiConsole.MarkupLineInterpolated($"[bold]{title}[/]");
        Console.WriteLine(JsonSerializer.Serialize(configuration, ModelStore.Json));
    }

    public static TrainingResult Run(Trainer trainer, string title, bool resume, CancellationToken cancel)
    {
        if (trainer.SkippedExamplesWarning is { } warning) Console.Error.WriteLine($"natem: warning: {title}: {warning}");
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: 1.0);
                var progress = new SynchronousProgress<TrainingProgress>(p =>
                {
                    if (p.ValidLoss is not null)
                        AnsiConsole.MarkupLineInterpolated(
                            $"[grey]{title}: update {p.Update} epoch {p.Epoch}: valid loss {F(p.ValidLoss.Value)}{(p.ValidBleu is { } b ? $" BLEU {F(b)}" : "")}[/]");
                    else
                        task.Description = $"{title} | upd {p.Update} ep {p.Epoch} | loss {F(p.Loss)} ppl {F(p.Perplexity)}"
                            + (p.LengthLoss is { } l ? $" len {F(l)}" : "") + (p.RevealedFraction is { } r ? $" glanced {r:P0}" : "") + $" | {p.TokensPerSecond:F0} tok/s | lr {p.LearningRate:G3}";
                    if (p.Fraction is { } f) task.Value = f;
                });
                result = trainer.Run(resume, progress, cancel);
                task.Value = 1.0;
            });
        var state = result!.State;
        AnsiConsole.MarkupLineInterpolated(
            $"{title}: stopped ({state.StopReason}) after {state.Update} updates, {state.ElapsedSeconds / 60:F1} min; best {result.BestCheckpoint} -> {new DirectoryInfo(result.BestCheckpoint).LinkTarget}");
        return result;
    }

    private static string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);
}
