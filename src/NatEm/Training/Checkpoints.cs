using System.Text.Json;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;

namespace NatEm.Training;

/// <summary>Where a training run stands; saved in every checkpoint so that --resume continues exactly.</summary>
public sealed record TrainerState
{
    public int Update { get; init; }
    public int Epoch { get; init; }
    /// <summary>Batches of the current epoch already consumed.</summary>
    public int BatchInEpoch { get; init; }
    public double? BestScore { get; init; }
    public string? BestCheckpoint { get; init; }
    public int ValidationsWithoutImprovement { get; init; }
    public double ElapsedSeconds { get; init; }
    public double? LastValidLoss { get; init; }
    public double? LastValidBleu { get; init; }
    public string? StopReason { get; init; }
}

/// <summary>
/// A run directory's checkpoints: each is a complete model directory under <c>checkpoints/update_NNNNNNN</c>,
/// written to a temp folder and renamed into place; <c>checkpoint_last</c> and <c>checkpoint_best</c> are
/// symbolic links swapped atomically. A kill at any moment leaves the previous checkpoint intact.
/// </summary>
public sealed class CheckpointDirectory(string runDir)
{
    public const string StateFile = "trainer_state.json", OptimizerFile = "optimizer.bin";
    public string RunDir { get; } = runDir;
    public string LastLink => Path.Combine(RunDir, "checkpoint_last");
    public string BestLink => Path.Combine(RunDir, "checkpoint_best");
    private string Folder => Path.Combine(RunDir, "checkpoints");

    public bool HasLast => Directory.Exists(LastLink);

    /// <summary>Writes a checkpoint through <paramref name="writeFiles"/> (which fills a directory) and points checkpoint_last at it.</summary>
    public string Save(int update, Action<string> writeFiles)
    {
        Directory.CreateDirectory(Folder);
        var name = $"update_{update:D7}";
        var final = Path.Combine(Folder, name);
        AtomicFile.WriteDirectory(final, writeFiles);
        PointLink(LastLink, name);
        return final;
    }

    public void MarkBest(string checkpoint) => PointLink(BestLink, Path.GetFileName(checkpoint));

    /// <summary>Deletes numbered checkpoints beyond the newest <paramref name="keep"/>, never best or last.</summary>
    public void Prune(int keep)
    {
        if (!Directory.Exists(Folder)) return;
        var protectedNames = new[] { LastLink, BestLink }.Where(Path.Exists).Select(l => Path.GetFileName(ResolveLink(l))).ToHashSet();
        foreach (var stale in Directory.GetDirectories(Folder, "update_*").OrderDescending(StringComparer.Ordinal).Skip(keep).Where(d => !protectedNames.Contains(Path.GetFileName(d))))
            Directory.Delete(stale, recursive: true);
        // Leftovers of a killed process: checkpoint folders and links it had not renamed into place yet.
        foreach (var temp in Directory.GetDirectories(Folder, ".update_*.tmp")) Directory.Delete(temp, recursive: true);
        foreach (var temp in Directory.GetFileSystemEntries(RunDir, "checkpoint_*.tmp")) File.Delete(temp);
    }

    /// <summary>Numbered checkpoints, oldest first.</summary>
    public IReadOnlyList<string> Numbered() =>
        Directory.Exists(Folder) ? Directory.GetDirectories(Folder, "update_*").Order(StringComparer.Ordinal).ToList() : [];

    public static TrainerState ReadState(string checkpoint)
    {
        var path = Path.Combine(checkpoint, StateFile);
        if (!File.Exists(path)) throw NatEmException.In(path, "missing trainer state: not a resumable checkpoint", ExitCodes.BadModel);
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), OnDiskJson.Options)
                ?? throw NatEmException.In(path, "empty trainer state", ExitCodes.BadModel);
        }
        catch (JsonException e)
        {
            throw NatEmException.In(path, $"corrupt trainer state: {e.Message}", ExitCodes.BadModel);
        }
    }

    public static void WriteState(string checkpoint, TrainerState state) =>
        AtomicFile.WriteAllText(Path.Combine(checkpoint, StateFile), JsonSerializer.Serialize(state, OnDiskJson.Options));

    private static string ResolveLink(string link) => new DirectoryInfo(link).LinkTarget ?? link;

    private static void PointLink(string link, string checkpointName) => AtomicFile.PointLink(link, Path.Combine("checkpoints", checkpointName));
}
