using System.Diagnostics;

namespace NatEm.Tests;

/// <summary>How a test starts the natem apphost built beside it as a separate process (signals, environment, re-exec).</summary>
public static class CliProcess
{
    /// <summary>`natem ARGS` with both output streams redirected; the caller adds what else it needs, then starts it.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "NatEm.Cli")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        return info;
    }
}
