using System.Text.Json;
using System.Text.RegularExpressions;
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
    /// <summary>
    /// The model directory a continued run (--continue-from) took its weights and starting update from; null for a run
    /// that started at update 0. Kept by every later checkpoint, resumed ones too.
    /// </summary>
    public string? ContinuedFrom { get; init; }
    /// <summary>The update at which a continued run started with a fresh optimizer (the milestone's update); null if none.</summary>
    public int? OptimizerResetAt { get; init; }
}

/// <summary>
/// A run directory's checkpoints: each is a complete model directory under <c>checkpoints/update_NNNNNNN</c>,
/// written to a temp folder and renamed into place; <c>checkpoint_last</c> and <c>checkpoint_best</c> are
/// symbolic links swapped atomically. A kill at any moment leaves the previous checkpoint intact.
/// </summary>
public sealed class CheckpointDirectory(string runDir)
{
    public const string StateFile = "trainer_state.json", OptimizerFile = "optimizer.bin", LogFile = "train_log.jsonl";
    private const string FolderName = "checkpoints", DamagedPrefix = "damaged_";

    /// <summary>What a training run writes into its directory (train-ar, train-nar, and each EM training stage).</summary>
    public static readonly OutputKind RunKind = new("a training run directory (natem train-ar/train-nar)",
        new Regex($@"^({FolderName}|checkpoint_(last|best)(\.\d+\.tmp)?|{Regex.Escape(LogFile)}|{NarTargets.DistillFolder})$"));

    public string RunDir { get; } = runDir;
    public string LastLink => Path.Combine(RunDir, "checkpoint_last");
    public string BestLink => Path.Combine(RunDir, "checkpoint_best");
    private string Folder => Path.Combine(RunDir, FolderName);

    public bool HasLast => Directory.Exists(LastLink);

    /// <summary>Whether a fresh start would lose checkpoints: a checkpoint_last link (even one whose target is gone) or numbered checkpoints.</summary>
    public bool HasCheckpoints => new FileInfo(LastLink).LinkTarget is not null || Numbered().Count > 0;

    /// <summary>
    /// Where --resume may continue from, best first: checkpoint_last, then the other numbered checkpoints, newest first.
    /// A checkpoint_last that leads out of the run directory is refused (exit 4).
    /// </summary>
    public IReadOnlyList<string> ResumeCandidates()
    {
        PlainFileName.RequireLinkInside(LastLink, LastLink, ExitCodes.BadModel);
        var last = HasLast ? Path.GetFileName(ResolveLink(LastLink)) : null;
        return [.. (last is null ? [] : new[] { LastLink }), .. Numbered().Reverse().Where(d => Path.GetFileName(d) != last)];
    }

    /// <summary>The numbered checkpoint directory a candidate of <see cref="ResumeCandidates"/> is (checkpoint_last resolved).</summary>
    public string NumberedOf(string candidate) => candidate == LastLink ? Path.Combine(Folder, Path.GetFileName(ResolveLink(LastLink))) : candidate;

    /// <summary>
    /// Points checkpoint_last at <paramref name="checkpoint"/> after a fallback, and renames the damaged checkpoints
    /// <paramref name="damaged"/> to damaged_update_N: kept for inspection, but no longer numbered, so pruning never
    /// keeps them in place of intact ones.
    /// </summary>
    public void ResumeFrom(string checkpoint, IEnumerable<string> damaged)
    {
        foreach (var dir in damaged.Where(Directory.Exists))
            Directory.Move(dir, Path.Combine(Folder, DamagedPrefix + Path.GetFileName(dir)));
        PointLink(LastLink, Path.GetFileName(checkpoint));
    }

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
