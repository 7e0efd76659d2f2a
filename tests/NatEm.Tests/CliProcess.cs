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

    /// <summary>Starts `natem ARGS` with its output read and dropped, for a test that waits for it, or kills it, itself.</summary>
    public static Process Start(IEnumerable<string> arguments)
    {
        var process = Process.Start(StartInfo(arguments))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Runs the process to its end and returns its exit code and output; one that is still running after
    /// <paramref name="patience"/> is killed and fails the test, so a hang cannot eat CI's time.
    /// </summary>
    public static (int ExitCode, string Output, string Errors) Run(ProcessStartInfo info, TimeSpan patience)
    {
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(patience))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"{Path.GetFileName(info.FileName)} {string.Join(' ', info.ArgumentList)} did not finish within {patience}:\n{errors.Result}");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result, errors.Result);
    }
}
