using NatEm.Em;
using NatEm.Training;
using Spectre.Console;

namespace NatEm.Cli;

/// <summary>Shows an EM run's stages on the console.</summary>
public sealed class ConsoleEmObserver : IEmObserver
{
    public TrainingResult Training(string title, string? warning, Func<IProgress<TrainingProgress>, TrainingResult> train) =>
        ConsoleTraining.Run(title, warning, train);

    public T Stage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage) => ConsoleStages.Run(title, stage);

    public void Message(string line) => AnsiConsole.MarkupLineInterpolated($"[bold]{line}[/]");
}
