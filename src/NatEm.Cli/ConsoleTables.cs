using System.Globalization;
using Spectre.Console;

namespace NatEm.Cli;

/// <summary>
/// Result tables with their title on a line of its own: Spectre cuts a title that is wider than its table
/// ("/work/runs/teacher/checkpo…"), and model paths often are.
/// </summary>
public static class ConsoleTables
{
    public static void Write(string title, Table table)
    {
        AnsiConsole.WriteLine(title);
        AnsiConsole.Write(table);
    }

    /// <summary>A figure of a table or a log line, in the invariant culture; "–" for one not measured.</summary>
    public static string F(double? value, string format = "F2") => value?.ToString(format, CultureInfo.InvariantCulture) ?? "–";
}
