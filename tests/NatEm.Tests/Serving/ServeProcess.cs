using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NatEm.Tests.Serving;

/// <summary>
/// A real `natem serve` child process (the built NatEm.Cli binary), for what only a process shows: its
/// environment and working directory, its signals and its exit code. It listens on 127.0.0.1 only.
/// </summary>
public sealed class ServeProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> errorLines = new();

    private ServeProcess(Process process) => this.process = process;

    /// <summary>Starts `natem serve ARGS` in <paramref name="workingDirectory"/> with extra environment variables.</summary>
    public static ServeProcess Start(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = CliProcess.StartInfo(["serve", .. arguments]);
        info.WorkingDirectory = workingDirectory;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var serve = new ServeProcess(Process.Start(info)!);
        serve.process.OutputDataReceived += (_, _) => { };
        serve.process.ErrorDataReceived += (_, line) => { if (line.Data is { } text) serve.errorLines.Enqueue(text); };
        serve.process.BeginOutputReadLine();
        serve.process.BeginErrorReadLine();
        return serve;
    }

    /// <summary>What the process wrote to stderr so far.</summary>
    public string Errors => string.Join('\n', errorLines);

    /// <summary>Waits for the stderr line that contains <paramref name="text"/> (fails if the process exits first).</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            if (errorLines.FirstOrDefault(line => line.Contains(text)) is { } found) return found;
            Assert.False(process.HasExited, $"natem serve exited with {(process.HasExited ? process.ExitCode : 0)} before printing '{text}':\n{Errors}");
            await Task.Delay(50);
        }
        throw new TimeoutException($"natem serve did not print '{text}' within {patience}:\n{Errors}");
    }

    /// <summary>
    /// Sends SIGTERM, as systemd, Docker and Kubernetes do, and waits for the exit code. (SIGINT is not tested this
    /// way: a test host started in the background ignores SIGINT, and its children inherit that.)
    /// </summary>
    public int TerminateAndWait(TimeSpan patience)
    {
        const int sigterm = 15;
        Assert.Equal(0, Kill(process.Id, sigterm));
        Assert.True(process.WaitForExit(patience), $"natem serve did not exit within {patience} of SIGTERM:\n{Errors}");
        process.WaitForExit(); // flushes the redirected streams
        return process.ExitCode;
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms; a condition still false after <paramref name="patience"/> fails the test instead of hanging it.</summary>
    public static async Task PollAsync(Func<Task<bool>> condition, TimeSpan patience, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > patience) throw new TimeoutException($"no {what} within {patience}");
            await Task.Delay(20);
        }
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.Dispose();
    }
}
