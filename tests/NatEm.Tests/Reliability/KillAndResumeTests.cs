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
        ["train-ar", "--data", data, "--out", run, "--preset", "tiny", "--max-updates", Updates.ToString(), "--validate-every", "15",
         "--log-every", "5", "--max-tokens", "256", "--threads", "1", "--seed", "3"];

    private static Process Start(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "NatEm.Cli")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

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

        var killed = Path.Combine(root, "killed");
        var random = new Random(42);
        int kills = 0;
        for (int attempt = 0; attempt < 6 && kills < 3; attempt++)
        {
            using var process = Start([.. TrainArguments(data, killed), .. attempt > 0 ? new[] { "--resume" } : []]);
            if (!process.WaitForExit(TimeSpan.FromMilliseconds(random.Next(1500, 4000))))
            {
                process.Kill();
                kills++;
            }
            process.WaitForExit();
            AssertNothingHalfWritten(killed);
        }
        Assert.True(kills > 0, "no kill landed while training ran");
        Assert.Equal(ExitCodes.Ok, RunToEnd([.. TrainArguments(data, killed), "--resume"]));
        AssertNothingHalfWritten(killed);

        Assert.Equal(Updates, CheckpointDirectory.ReadState(Path.Combine(killed, "checkpoint_last")).Update);
        using var expected = ModelStore.LoadModel(Path.Combine(uninterrupted, "checkpoint_last"), ModelKind.Autoregressive).Module;
        using var actual = ModelStore.LoadModel(Path.Combine(killed, "checkpoint_last"), ModelKind.Autoregressive).Module;
        foreach (var ((name, e), (_, a)) in expected.named_parameters().Zip(actual.named_parameters()))
            Assert.True(e.allclose(a, rtol: 0, atol: 0), $"parameter {name} differs after kill and resume");
        Assert.Equal(Losses(uninterrupted), Losses(killed));
    }

    private static double[] Losses(string run) =>
        File.ReadAllLines(Path.Combine(run, "train_log.jsonl")).Select(line => JsonNode.Parse(line)!["loss"]!.GetValue<double>()).ToArray();
}
