using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using NatEm.Modeling;
using NatEm.Tests.Em;
using NatEm.Training;

namespace NatEm.Tests.Reliability;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM (systemd, Docker, Kubernetes) during `train-ar`, `train-nar` and `em`: the process saves
/// a resumable checkpoint, exits with 130 (README, "Errors and recovery"), and `--resume` finishes with the very
/// model and losses of an uninterrupted run. The signal is sent once the run has logged a given update, so the
/// test does not depend on the machine's speed.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private const int Updates = 20, SignalAfterUpdate = 6;
    private readonly string directory = SyntheticTask.TempDir();
    private readonly string data = TinyPreparedData.Create(trainPairs: 60).Directory;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string[] Arguments(string command, string run) => command switch
    {
        "em" => ["em", "--data", data, "--out", run, "--preset", "tiny", "--iterations", "1", "--nbest", "2", "--distill-beam", "2", "--selection-score", "PerToken",
            "--max-updates", Updates.ToString(System.Globalization.CultureInfo.InvariantCulture), "--validate-every", "10", "--log-every", "1", "--max-tokens", "256",
            "--threads", "1", "--seed", "3", "--precision", "Fp32", "--valid-limit", "8"],
        _ => [command, "--data", data, "--out", run, "--preset", "tiny", "--max-updates", Updates.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--validate-every", "10", "--log-every", "1", "--max-tokens", "256", "--threads", "1", "--seed", "3", "--precision", "Fp32"],
    };

    /// <summary>
    /// natem started through `env --default-signal=INT`: a test host started in the background ignores SIGINT and its
    /// children inherit that, which would keep .NET from ever seeing Ctrl+C. env then execs natem (same pid).
    /// </summary>
    private static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var natem = CliProcess.StartInfo(arguments);
        var info = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add(natem.FileName);
        foreach (var argument in natem.ArgumentList) info.ArgumentList.Add(argument);
        return info;
    }

    private static void RunToEnd(string[] arguments)
    {
        var (exitCode, _, errors) = CliProcess.Run(StartInfo(arguments), Patience);
        Assert.True(exitCode == ExitCodes.Ok, $"natem {string.Join(' ', arguments)}: exit code {exitCode}: {errors}");
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Starts the command, sends the signal once <paramref name="log"/> shows the update, returns exit code and stderr.</summary>
    private static (int ExitCode, string Errors) Interrupt(string[] arguments, string log, int signal)
    {
        using var process = Process.Start(StartInfo(arguments))!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (LastLoggedUpdate(log) < SignalAfterUpdate)
        {
            if (process.HasExited || clock.Elapsed > Patience)
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"natem ended or stalled before update {SignalAfterUpdate} (exit {process.ExitCode}):\n{errors.Result}");
            }
            Thread.Sleep(10);
        }
        Assert.Equal(0, Kill(process.Id, signal));
        if (!process.WaitForExit(Patience))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"natem did not exit within {Patience} of signal {signal}");
        }
        process.WaitForExit();
        _ = output.Result;
        return (process.ExitCode, errors.Result);
    }

    private static int LastLoggedUpdate(string log)
    {
        try
        {
            var last = File.Exists(log) ? File.ReadLines(log).LastOrDefault() : null;
            return last is null ? -1 : JsonNode.Parse(last)?["update"]?.GetValue<int>() ?? -1;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
        {
            return -1; // a line being appended: look again
        }
    }

    private static double[] Losses(string run) =>
        File.ReadAllLines(Path.Combine(run, "train_log.jsonl")).Select(line => JsonNode.Parse(line)!["loss"]!.GetValue<double>()).ToArray();

    private static void AssertSameWeights(string expectedModel, string actualModel)
    {
        using var expected = ModelStore.LoadModel(expectedModel).Module;
        using var actual = ModelStore.LoadModel(actualModel).Module;
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.allclose(a, rtol: 0, atol: 0), $"parameter {name} differs after the signal and --resume");
    }

    // Both signals reach the one handler (Interrupts) each command registers: both are tested on train-ar, and one
    // each on train-nar and em, to keep the suite short.
    public static TheoryData<string, int> Training => new()
    {
        { "train-ar", 2 },   // SIGINT
        { "train-ar", 15 },  // SIGTERM
        { "train-nar", 15 },
    };

    [Theory]
    [MemberData(nameof(Training))]
    public void A_signal_during_training_saves_a_checkpoint_exits_130_and_the_run_resumes_exactly(string command, int signal)
    {
        var uninterrupted = Path.Combine(directory, "uninterrupted");
        RunToEnd(Arguments(command, uninterrupted));
        var interrupted = Path.Combine(directory, "interrupted");

        var (exitCode, errors) = Interrupt(Arguments(command, interrupted), Path.Combine(interrupted, "train_log.jsonl"), signal);

        Assert.True(exitCode == ExitCodes.Interrupted, $"exit code {exitCode}: {errors}");
        Assert.Contains("a resumable checkpoint will be saved", errors);
        var saved = CheckpointDirectory.ReadState(Path.Combine(interrupted, "checkpoint_last")).Update;
        Assert.InRange(saved, SignalAfterUpdate, Updates - 1);
        RunToEnd([.. Arguments(command, interrupted), "--resume"]);
        Assert.Equal(Updates, CheckpointDirectory.ReadState(Path.Combine(interrupted, "checkpoint_last")).Update);
        AssertSameWeights(Path.Combine(uninterrupted, "checkpoint_last"), Path.Combine(interrupted, "checkpoint_last"));
        Assert.Equal(Losses(uninterrupted), Losses(interrupted));
    }

    [Theory]
    [InlineData(2)]
    public void A_signal_during_em_saves_a_checkpoint_exits_130_and_the_run_resumes_to_the_same_model_with_the_per_token_selection(int signal)
    {
        var uninterrupted = Path.Combine(directory, "uninterrupted");
        RunToEnd(Arguments("em", uninterrupted));
        var interrupted = Path.Combine(directory, "interrupted");

        // Inside round 1's NAR training (the M-step).
        var (exitCode, errors) = Interrupt(Arguments("em", interrupted), Path.Combine(interrupted, "round1", "nar", "train_log.jsonl"), signal);

        Assert.True(exitCode == ExitCodes.Interrupted, $"exit code {exitCode}: {errors}");
        Assert.InRange(CheckpointDirectory.ReadState(Path.Combine(interrupted, "round1", "nar", "checkpoint_last")).Update, SignalAfterUpdate, Updates - 1);
        Assert.False(Directory.Exists(Path.Combine(interrupted, "model")));
        RunToEnd([.. Arguments("em", interrupted), "--resume"]);
        AssertSameWeights(Path.Combine(uninterrupted, "model"), Path.Combine(interrupted, "model"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(uninterrupted, "round1", "selected.bin")), File.ReadAllBytes(Path.Combine(interrupted, "round1", "selected.bin")));

        // The criterion asked for is the one used (report.json marks it), end to end through the command line.
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(interrupted, "report.json")))!;
        var used = report["rounds"]!.AsArray().SelectMany(r => r!["selection"]!.AsArray()).Where(s => s!["used"]!.GetValue<bool>()).Select(s => s!["criterion"]!.GetValue<string>()).ToList();
        Assert.Equal(["PerToken"], used);
    }
}
