using System.Globalization;
using System.Text.Json.Nodes;
using NatEm.Modeling;
using NatEm.Tests.Cli;
using NatEm.Tests.Em;
using NatEm.Training;

namespace NatEm.Tests.Reliability;

/// <summary>
/// `--resume` whose checkpoint_last is missing or damaged continues from the newest intact checkpoint, saying so in one
/// line; with none intact it is an error (exit 4). It never starts over, and never deletes the log or older checkpoints.
/// </summary>
public sealed class ResumeFallbackTests
{
    private readonly string data = TinyPreparedData.Create().Directory;
    private readonly string run = Path.Combine(SyntheticTask.TempDir(), "run");

    private (int ExitCode, string Output, string Error) Train(int updates, bool resume) =>
        TinyModels.Run(["train-ar", "--data", data, "--out", run, "--preset", "tiny", "--max-updates", updates.ToString(CultureInfo.InvariantCulture),
            "--validate-every", "8", "--log-every", "4", "--keep-last", "5", "--max-tokens", "256", "--threads", "1", .. resume ? new[] { "--resume" } : []]);

    private string Checkpoint(int update) => Path.Combine(run, "checkpoints", $"update_{update:D7}");

    private int[] LoggedUpdates() =>
        [.. File.ReadAllLines(Path.Combine(run, CheckpointDirectory.LogFile)).Select(line => JsonNode.Parse(line)!["update"]!.GetValue<int>())];

    [Fact]
    public void AMissingLastCheckpointFallsBackToTheNewestIntactOneAndKeepsTheHistory()
    {
        Assert.Equal(ExitCodes.Ok, Train(24, resume: false).ExitCode);
        Directory.Delete(Checkpoint(24), recursive: true);

        var (exitCode, _, error) = Train(32, resume: true);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var notice = Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("checkpoint_last points at a missing checkpoint; resuming from the newest intact checkpoint", notice);
        Assert.Contains("update_0000016 (update 16)", notice);
        Assert.Equal(32, CheckpointDirectory.ReadState(Path.Combine(run, "checkpoint_last")).Update);
        Assert.True(Directory.Exists(Checkpoint(8)));
        // The log keeps everything up to the checkpoint resumed from, then continues from it.
        Assert.Equal([4, 8, 8, 12, 16, 16, 20, 24, 24, 28, 32, 32], LoggedUpdates());
    }

    [Fact]
    public void ADamagedLastCheckpointIsSetAsideAndTheRunContinuesFromTheOneBefore()
    {
        Assert.Equal(ExitCodes.Ok, Train(24, resume: false).ExitCode);
        var weights = Path.Combine(Checkpoint(24), ModelStore.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[^10] ^= 0x5A;
        File.WriteAllBytes(weights, bytes);

        var (exitCode, _, error) = Train(24, resume: true);

        Assert.True(exitCode == ExitCodes.Ok, error);
        var notice = Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("checkpoint_last is damaged (", notice);
        Assert.Contains("SHA-256 differs", notice);
        Assert.Contains("damaged_*: update_0000024", notice);
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", "damaged_update_0000024")));
        Assert.Equal(24, CheckpointDirectory.ReadState(Path.Combine(run, "checkpoint_last")).Update);
        ModelStore.LoadModel(Path.Combine(run, "checkpoint_last")).Module.Dispose();
    }

    [Fact]
    public void NoIntactCheckpointIsAnErrorThatChangesNothing()
    {
        Assert.Equal(ExitCodes.Ok, Train(16, resume: false).ExitCode);
        foreach (var update in new[] { 8, 16 }) File.Delete(Path.Combine(Checkpoint(update), CheckpointDirectory.StateFile));
        var logBefore = File.ReadAllText(Path.Combine(run, CheckpointDirectory.LogFile));

        var (exitCode, _, error) = Train(24, resume: true);

        Assert.Equal(ExitCodes.BadModel, exitCode);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Contains("--resume: no intact checkpoint to continue from", error);
        Assert.Equal(logBefore, File.ReadAllText(Path.Combine(run, CheckpointDirectory.LogFile)));
        Assert.True(Directory.Exists(Checkpoint(8)) && Directory.Exists(Checkpoint(16)));
        Assert.EndsWith("update_0000016", new DirectoryInfo(Path.Combine(run, "checkpoint_last")).LinkTarget);
    }
}
