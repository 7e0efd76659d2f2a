using Spectre.Console;

namespace NatEm.Cli;

/// <summary>A console progress bar (or plain lines, see <see cref="ConsoleProgress"/>) around one long library stage that reports (done, total).</summary>
public static class ConsoleStages
{
    public static T Run<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage)
    {
        if (!ConsoleProgress.IsLive(AnsiConsole.Console))
        {
            var lines = new PercentLines(title, Console.Out);
            var result = stage(new NatEm.Data.SynchronousProgress<(int Done, int Total)>(p => lines.Report(p.Done, p.Total)));
            lines.Report(1, 1);
            return result;
        }
        T value = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title);
                value = stage(new NatEm.Data.SynchronousProgress<(int Done, int Total)>(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                }));
                task.Value = task.MaxValue;
            });
        return value;
    }
}
