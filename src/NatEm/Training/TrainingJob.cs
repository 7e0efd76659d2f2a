using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.IO;
using NatEm.Modeling;

namespace NatEm.Training;

/// <summary>
/// The model a training run starts from: fresh weights of <see cref="Config"/> drawn from the run's seed, replaced by the
/// weights of the model directory <see cref="WeightsFrom"/> when one is given (a warm start: the same architecture, or a
/// CTC model from a length-classifier model's weights, <see cref="ModelStore.LoadWarmStart"/>); a run that continues
/// another (<see cref="Continues"/>) also starts at the update those weights were saved at.
/// </summary>
public sealed record InitialModel(ModelKind Kind, TransformerConfig Config, string? WeightsFrom = null, Milestone? Continues = null)
{
    /// <summary>
    /// --init-from (fairseq's --finetune-from-model) and EM's warm starts: the architecture and weights of a trained model
    /// directory of <paramref name="kind"/> whose tokenizer is the data's, with <paramref name="choices"/>' dropout if
    /// given (<see cref="ArchitectureOptions.ContinueFrom"/>); the optimizer and schedule start afresh.
    /// </summary>
    public static InitialModel FineTune(string dir, ModelKind kind, PreparedData data, ArchitectureOptions choices) =>
        new(kind, choices.ContinueFrom(PreparedDataModels.ReadMatching(dir, kind, data).Config, kind), dir);

    /// <summary>
    /// --continue-from (fairseq's --restore-file with --reset-optimizer): the run that saved the model directory
    /// <paramref name="dir"/> (a checkpoint, or a milestone exported from one), continued from its update with its own
    /// architecture and weights; only the optimizer starts afresh. The trainer requires the run's options to be the
    /// recorded ones (<see cref="Milestone"/>); <paramref name="choices"/> may not change the architecture (exit 2).
    /// </summary>
    public static InitialModel Continue(string dir, ModelKind kind, PreparedData data, ArchitectureOptions choices)
    {
        var manifest = PreparedDataModels.ReadMatching(dir, kind, data);
        var milestone = Milestone.Read(dir, manifest);
        var config = choices.ContinueFrom(manifest.Config, kind);
        if (config != manifest.Config)
            throw NatEmException.In(Path.Combine(dir, ModelStore.ManifestFile),
                "--continue-from continues the model's own architecture: drop the flags that change it (--dropout, --nar-loss)", ExitCodes.Usage);
        return new(kind, config, dir, milestone);
    }
}

/// <summary>
/// A model directory saved by a training run, as --continue-from reads it from model.json's training section: the update
/// it was saved at (<c>update</c>) and the run's resolved options (<c>options</c>), which a continued run must repeat.
/// </summary>
public sealed record Milestone(string Directory, int Update, TrainingOptions Options)
{
    public string ManifestPath => Path.Combine(Directory, ModelStore.ManifestFile);

    /// <summary>The milestone <paramref name="manifest"/> (read from <paramref name="dir"/>) records; exit 4 if it records none.</summary>
    public static Milestone Read(string dir, ModelManifest manifest)
    {
        var path = Path.Combine(dir, ModelStore.ManifestFile);
        int? update;
        TrainingOptions? options;
        try
        {
            update = manifest.Training?["update"]?.GetValue<int>();
            options = manifest.Training?["options"]?.Deserialize<TrainingOptions>(OnDiskJson.Options);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw NatEmException.In(path, $"unreadable training.update or training.options ({e.Message})", ExitCodes.BadModel);
        }
        if (update is null || options is null)
            throw NatEmException.In(path, "--continue-from needs the training.update and training.options that a training run's checkpoints "
                + "(and their exports) record; this model directory has none: start a new run from it with --init-from", ExitCodes.BadModel);
        if (update < 0) throw NatEmException.In(path, $"training.update must not be negative, not {update}", ExitCodes.BadModel);
        return new(Path.GetFullPath(dir), update.Value, options);
    }
}

/// <summary>Runs a long stage that reports (done, total) under the caller's display (a console bar, nothing in tests).</summary>
public delegate T ShowStage<T>(string title, Func<IProgress<(int Done, int Total)>, T> stage);

/// <summary>What a NAR model of `train-nar` learns to output: the data's targets, the lines of a file, or an AR teacher's translations.</summary>
public sealed record NarTargets
{
    /// <summary>The run directory's folder that caches a distillation.</summary>
    public const string DistillFolder = "distill";

    /// <summary>Target lines, one per training pair (--targets).</summary>
    public string? File { get; init; }
    /// <summary>An AR model directory whose beam-search translations of the training sources are the targets (--distill-from).</summary>
    public string? DistillFrom { get; init; }
    public int DistillBeam { get; init; } = 4;
    /// <summary>Sources per stored part of the distillation: the unit it resumes from and a shard takes (<see cref="ChunkedStage"/>).</summary>
    public int ChunkSize { get; init; } = ChunkedStage.DefaultChunkSize;

    /// <summary>The targets for the sources of <paramref name="train"/>; a distillation is cached in RUN/distill and resumes there.</summary>
    public IReadOnlyList<int[]> Resolve(PreparedData data, ParallelSplit train, Precision precision, string runDir, ShowStage<IReadOnlyList<int[]>> show,
        CancellationToken cancel = default)
    {
        if (File is not null && DistillFrom is not null)
            throw new NatEmException("give --targets or --distill-from, not both", ExitCodes.Usage);
        if (File is not null)
        {
            using var reader = Utf8LineReader.Open(File);
            var lines = reader.ReadAllLines();
            if (lines.Count != train.Count)
                throw NatEmException.In(File, $"has {lines.Count} lines but the training split has {train.Count} sentences");
            return lines.Select(l => data.Tokenizer.Encode(Text.TextNormalizer.Normalize(l))).ToArray();
        }
        if (DistillFrom is null) return train.Target;
        return show("distilling", progress => DistillationPass(data, train, precision, runDir, cancel).Run(progress, cancel).Entries);
    }

    /// <summary>
    /// Shard <paramref name="shard"/> of the distillation (--distill-from with --shard i/n): its parts of RUN/distill, which a
    /// later `train-nar` without --shard finds finished; the others are left to their shards.
    /// </summary>
    public ShardOutcome DistillShard(PreparedData data, ParallelSplit train, Precision precision, string runDir, Shard shard, ShowStage<ShardOutcome> show,
        CancellationToken cancel = default)
    {
        if (File is not null || DistillFrom is null) throw new NatEmException("--shard needs --distill-from (the distillation is the pass it shares out), not --targets", ExitCodes.Usage);
        var pass = DistillationPass(data, train, precision, runDir, cancel);
        return show($"distilling, shard {shard}", progress => pass.RunShard(shard, progress, cancel));
    }

    private ChunkedPass<int[]> DistillationPass(PreparedData data, ParallelSplit train, Precision precision, string runDir, CancellationToken cancel)
    {
        var teacherDir = DistillFrom!;
        // Before distilling for minutes: the teacher's ids must mean the data's subwords.
        PreparedDataModels.ReadMatching(teacherDir, ModelKind.Autoregressive, data);
        return Distillation.BestTranslations(() => ModelStore.LoadArForDecoding(teacherDir, precision), ModelStore.WeightsSha256(teacherDir), train.Source, DistillBeam,
            Path.Combine(runDir, DistillFolder), ChunkSize, cancel);
    }
}

/// <summary>
/// One training run, set up in one place for `train-ar`, `train-nar` and every training stage of an EM run: the model
/// (fresh, or warm-started from a trained model), the provenance its checkpoints record, and the <see cref="Trainer"/>.
/// </summary>
public sealed class TrainingJob
{
    private readonly Trainer trainer;

    /// <summary>
    /// Sets up a run in <paramref name="runDir"/>. Its checkpoints record <paramref name="origin"/> (the command, the EM
    /// stage) with the data and the warm start (and a continued run's milestone, <see cref="TrainerState.ContinuedFrom"/>); <paramref name="validationBleu"/> scores the model at each validation
    /// (null: loss only).
    /// </summary>
    public TrainingJob(InitialModel initial, TrainingOptions options, string runDir, PreparedData data, ParallelExamples train,
        ParallelExamples? valid, JsonObject origin, Func<ITranslationModel, double>? validationBleu)
    {
        var model = TranslationModels.Create(initial.Kind, initial.Config, options.Seed);
        // A resumed run restores its own weights from checkpoint_last: the initial ones only start a new run.
        if (initial.WeightsFrom is { } warmStart && !new CheckpointDirectory(runDir).HasLast) ModelStore.LoadWarmStart(warmStart, model);
        var provenance = (JsonObject)origin.DeepClone();
        provenance["data"] = Path.GetFullPath(data.Directory);
        provenance["warm_start"] = initial.WeightsFrom;
        trainer = new Trainer(model, options, runDir, train, valid, ModelDirectoryContents.From(data, provenance), validationBleu, initial.Continues);
    }

    /// <summary>Says how many training pairs exceed --max-tokens on their own and are never trained on; null if none.</summary>
    public string? SkippedExamplesWarning => trainer.SkippedExamplesWarning;

    /// <summary>
    /// Trains until a limit is reached; with <paramref name="resume"/>, from the run's last checkpoint if it has one (or the
    /// newest intact one, which <paramref name="notice"/> is told in one line).
    /// </summary>
    public TrainingResult Run(bool resume, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default, Action<string>? notice = null) =>
        trainer.Run(resume, progress, cancel, notice);
}
