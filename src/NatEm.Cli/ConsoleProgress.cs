using Spectre.Console;

namespace NatEm.Cli;

/// <summary>
/// How progress is shown: Spectre's live bars on an interactive terminal; otherwise (a log file, a pipe, a test)
/// plain lines, one per meaningful step, never the same line twice and never wrapped.
/// </summary>
public static class ConsoleProgress
{
    public static bool IsLive(IAnsiConsole console) => console.Profile.Capabilities.Interactive;

    /// <summary>Plain output is one line per step however long: the width is only used for wrapping.</summary>
    public const int PlainWidth = 1000;

    /// <summary>Makes a non-interactive console write long lines unwrapped.</summary>
    public static IAnsiConsole Unwrapped(this IAnsiConsole console)
    {
        if (!IsLive(console)) console.Profile.Width = PlainWidth;
        return console;
    }
}

/// <summary>Plain-line progress of one stage: a line when it starts and at every further tenth of the work.</summary>
public sealed class PercentLines(string title, TextWriter output)
{
    private readonly object _gate = new();
    private int _lastTenth = -1;

    public void Report(long done, long total)
    {
        int tenth = total <= 0 ? 10 : (int)(10 * Math.Clamp(done, 0, total) / total);
        lock (_gate)
        {
            if (tenth <= _lastTenth) return;
            _lastTenth = tenth;
            output.WriteLine(total > 0 ? $"{title}: {tenth * 10}% ({Math.Min(done, total):N0}/{total:N0})" : $"{title}: done");
        }
    }
}
