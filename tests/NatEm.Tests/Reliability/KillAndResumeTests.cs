using System.Diagnostics;
using System.Text.Json.Nodes;
using NatEm.Tests.Em;
using NatEm.Modeling;
using NatEm.Training;
using TorchSharp;

namespace NatEm.Tests.Reliability;

/// <summary>
/// kill -9 of a `natem train-ar` process at random moments: after every kill the run directory must hold only
/// complete, loadable checkpoints, and `--resume` must finish with the same model as an uninterrupted run.
/// </summary>
public sealed class KillAndResumeTests
{
    private const int Updates = 150;

    private static string[] TrainArguments(string data, string run) =>
        ["train-ar", "--data", data, "--out", run, "--preset", "tiny", "--max-updates", Updates.ToString(System.Globalization.CultureInfo.InvariantCulture), "--validate-every", "15",
         "--log-every", "5", "--max-tokens", "256", "--threads", "1", "--seed", "3"];

    private static Process Start(IEnumerable<string> arguments) => CliProcess.Start(arguments);

    private static int RunToEnd(IEnumerable<string> arguments)
    {
        using var process = Start(arguments);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(3)), "training did not finish in 3 minutes");
        return process.ExitCode;
    }

    /// <summary>Every checkpoint a killed run left in place must load; leftovers may only be temp names.</summary>
    private static void AssertNothingHalfWritten(string run)
    {
        var checkpoints = new CheckpointDirectory(run);
        foreach (var checkpoint in checkpoints.Numbered())
        {
            ModelStore.LoadModel(checkpoint, ModelKind.Autoregressive).Module.Dispose();
            CheckpointDirectory.ReadState(checkpoint);
        }
        if (checkpoints.HasLast) Assert.Contains(Path.GetFullPath(new DirectoryInfo(checkpoints.LastLink).ResolveLinkTarget(true)!.FullName),
            checkpoints.Numbered().Select(Path.GetFullPath));
        var log = Path.Combine(run, "train_log.jsonl");
        if (File.Exists(log))
        {
            var lines = File.ReadAllLines(log);
            // A kill can cut the line being appended; everything before it must be complete.
            foreach (var line in lines.SkipLast(1)) Assert.NotNull(JsonNode.Parse(line));
        }
    }

    [Fact]
    public void KilledTrainingResumesToTheSameModel()
    {
        var data = TinyPreparedData.Create(trainPairs: 200).Directory;
        var root = SyntheticTask.TempDir();
        var uninterrupted = Path.Combine(root, "uninterrupted");
        Assert.Equal(ExitCodes.Ok, RunToEnd(TrainArguments(data, uninterrupted)));

        // Kill points are chosen by training progress (read from the log), so they land on any machine speed.
        var killed = Path.Combine(root, "killed");
        var random = new Random(42);
        int kills = 0;
        foreach (var (attempt, killAt) in new[] { random.Next(10, 45), random.Next(55, 90), random.Next(100, 140) }.Index())
        {
            using var process = Start([.. TrainArguments(data, killed), .. attempt > 0 ? new[] { "--resume" } : []]);
            if (KillWhenLogReaches(process, killed, killAt)) kills++;
            process.WaitForExit();
            AssertNothingHalfWritten(killed);
        }
        Assert.Equal(3, kills);
        Assert.Equal(ExitCodes.Ok, RunToEnd([.. TrainArguments(data, killed), "--resume"]));
        AssertNothingHalfWritten(killed);

        Assert.Equal(Updates, CheckpointDirectory.ReadState(Path.Combine(killed, "checkpoint_last")).Update);
        using var expected = ModelStore.LoadModel(Path.Combine(uninterrupted, "checkpoint_last"), ModelKind.Autoregressive).Module;
        using var actual = ModelStore.LoadModel(Path.Combine(killed, "checkpoint_last"), ModelKind.Autoregressive).Module;
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.allclose(a, rtol: 0, atol: 0), $"parameter {name} differs after kill and resume");
        Assert.Equal(Losses(uninterrupted), Losses(killed));
    }

    private static bool KillWhenLogReaches(Process process, string run, int update)
    {
        var log = Path.Combine(run, "train_log.jsonl");
        while (!process.HasExited)
        {
            if (LastLoggedUpdate(log) >= update)
            {
                process.Kill();
                return true;
            }
            Thread.Sleep(5);
        }
        return false;
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
            return -1; // a line being appended or a log being replaced: look again
        }
    }

    private static double[] Losses(string run) =>
        File.ReadAllLines(Path.Combine(run, "train_log.jsonl")).Select(line => JsonNode.Parse(line)!["loss"]!.GetValue<double>()).ToArray();
}
