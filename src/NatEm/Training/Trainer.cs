using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Decoding;
using NatEm.IO;
using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Training;

/// <summary>Source/target token-id pairs to train or validate on.</summary>
public sealed record ParallelExamples(IReadOnlyList<int[]> Sources, IReadOnlyList<int[]> Targets)
{
    public int Count => Sources.Count;
    public static ParallelExamples Of(ParallelSplit split) => new(split.Source, split.Target);
}

/// <summary>What the trainer reports at each log interval and validation.</summary>
public sealed record TrainingProgress(
    int Update, int Epoch, double Loss, double Nll, double Perplexity, double TokensPerSecond, double LearningRate,
    double GradientNorm, double ElapsedSeconds, double? LengthLoss, double? ValidLoss, double? ValidBleu, double? Fraction,
    double? RevealedFraction = null, long TargetTokens = 0);

/// <summary>How a training run ended: its state and the checkpoint_best link.</summary>
public sealed record TrainingResult(string BestCheckpoint, TrainerState State);

/// <summary>What a run's model directories hold besides weights: the tokenizer (copied from its folder) and provenance.</summary>
public sealed record ModelDirectoryContents(TokenizerInfo Tokenizer, string TokenizerDirectory, JsonObject Provenance, LanguagePair? Languages = null)
{
    public static ModelDirectoryContents From(PreparedData data, JsonObject provenance) =>
        new(data.Manifest.Tokenizer, data.Directory, provenance, data.Manifest.Languages);
}

/// <summary>
/// One training loop for both models (fairseq's trainer): token-bucketed batches, gradient accumulation,
/// Adam with inverse-sqrt warm-up, clipping, periodic validation, best/last checkpoints, exact resume.
/// Dropout randomness is re-seeded from (seed, update) at every update, so a resumed run repeats the
/// uninterrupted run's computation. A run continued from a milestone (<see cref="Milestone"/>) starts at the milestone's
/// update with the batches, learning rate, glancing ratio and seeds the uninterrupted run has there; only Adam's moments
/// start afresh.
/// </summary>
public sealed class Trainer
{
    private readonly ITranslationModel model;
    private readonly ICriterion criterion;
    private readonly TrainingOptions options;
    private readonly ParallelExamples train;
    private readonly ParallelExamples? valid;
    private readonly Func<ITranslationModel, double>? validationBleu;
    private readonly ModelDirectoryContents contents;
    private readonly CheckpointDirectory checkpoints;
    private readonly TorchSharp.Modules.Adam optimizer;
    private readonly string logPath;
    private readonly TrainerState start = new();

    /// <summary>
    /// A run of <paramref name="model"/>; with <paramref name="continues"/>, a new run continues the run that saved that
    /// milestone (whose weights the model holds), from its update: <paramref name="options"/> must then repeat the
    /// milestone's in all but <see cref="TrainingOptions.Trajectory"/>'s environment (exit 2 naming the first difference).
    /// </summary>
    public Trainer(ITranslationModel model, TrainingOptions options, string runDir, ParallelExamples train, ParallelExamples? valid,
        ModelDirectoryContents contents, Func<ITranslationModel, double>? validationBleu = null, Milestone? continues = null)
    {
        options.Validate();
        DecodingMemory.Require("--max-tokens", options.MaxTokens, tokens => DecodingMemory.TrainingBytes(model.Config, tokens),
            DecodingMemory.DefaultBudgetBytes, "per training batch");
        if (train.Count == 0) throw new NatEmException("no training examples", ExitCodes.BadInput);
        // Like fairseq, pairs over the --max-tokens budget are skipped (and counted for a warning) rather than fatal.
        var (sourceLengths, targetLengths) = (SourceLengths(train), TargetLengths(train));
        var overBudget = TokenBatcher.OverBudget(sourceLengths, targetLengths, options.MaxTokens);
        SkippedExamplesWarning = overBudget.Length == 0 ? null
            : $"skipping {overBudget.Length} of {train.Count} training pairs that alone exceed --max-tokens {options.MaxTokens} "
              + $"(first: pair {overBudget[0] + 1}, {TokenBatcher.PaddedLength(sourceLengths, targetLengths, overBudget[0])} tokens)";
        this.model = model;
        model.Precision = options.Precision;
        // The glancing schedule is resolved against this run's length once, so that checkpoints record the schedule used.
        this.options = options = options.Glancing is { } glancing
            ? options with { Glancing = glancing.Resolve(options.MaxUpdates, options.MaxEpochs, () => UpdatesPerEpoch(train, options)) }
            : options;
        this.train = train;
        this.valid = valid;
        this.contents = contents;
        this.validationBleu = validationBleu;
        criterion = Criteria.For(model, options);
        checkpoints = new CheckpointDirectory(runDir);
        logPath = Path.Combine(runDir, CheckpointDirectory.LogFile);
        torch.set_num_threads(options.ResolvedThreads);
        optimizer = optim.Adam(model.Module.parameters(), options.LearningRate, options.AdamBeta1, options.AdamBeta2,
            options.AdamEpsilon, options.WeightDecay);
        if (continues is not null) start = ContinuedStart(continues);
    }

    /// <summary>
    /// Where the uninterrupted run of these options stands after the milestone's update N: epoch N / U and batch
    /// (N mod U) × --update-freq of it, for U updates per epoch (an epoch's last update may take fewer batches).
    /// </summary>
    private TrainerState ContinuedStart(Milestone milestone)
    {
        if (options.FirstTrajectoryDifference(milestone.Options) is var (name, recorded, given))
            throw NatEmException.In(milestone.ManifestPath,
                $"--continue-from: training.options.{name} is {recorded} there but {given} here; a continued run repeats the run's options "
                + "(only --threads, --precision, --validate-every, --log-every, --keep-last, --best-metric, --patience and --max-minutes may differ)", ExitCodes.Usage);
        int perEpoch = UpdatesPerEpoch(train, options);
        var state = new TrainerState
        {
            Update = milestone.Update, Epoch = milestone.Update / perEpoch, BatchInEpoch = milestone.Update % perEpoch * options.UpdateFrequency,
            ContinuedFrom = milestone.Directory, OptimizerResetAt = milestone.Update,
        };
        if (LimitReached(state) is { } limit)
            throw NatEmException.In(milestone.ManifestPath, $"--continue-from: the run was saved at update {milestone.Update}, where it already stops ({limit}): nothing to continue", ExitCodes.Usage);
        return state;
    }

    /// <summary>Says how many training pairs exceed --max-tokens on their own and are never trained on; null if none.</summary>
    public string? SkippedExamplesWarning { get; }

    // The batcher's lengths: the source with its end-of-sentence token; the target (whose +1 the batcher adds).
    private static List<int> SourceLengths(ParallelExamples examples) => examples.Sources.Select(s => s.Length + 1).ToList();
    private static List<int> TargetLengths(ParallelExamples examples) => examples.Targets.Select(t => t.Length).ToList();

    /// <summary>Updates per epoch: the batch count does not depend on the epoch's shuffle.</summary>
    private static int UpdatesPerEpoch(ParallelExamples train, TrainingOptions options) =>
        (TokenBatcher.Batches(SourceLengths(train), TargetLengths(train), options.MaxTokens, null, skipOverBudget: true).Count + options.UpdateFrequency - 1) / options.UpdateFrequency;

    public TrainingResult Run(bool resume, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default, Action<string>? notice = null)
    {
        var state = resume && checkpoints.HasCheckpoints ? Resume(notice) : StartFresh(resume);
        var clock = Stopwatch.StartNew();
        double ElapsedSeconds() => state.ElapsedSeconds + clock.Elapsed.TotalSeconds;
        var sinceLog = BatchStatistics.Zero;
        var logClock = Stopwatch.StartNew();
        double gradientNorm = 0;
        int savedUpdate = state.Update;
        model.Module.train();

        while (state.StopReason is null)
        {
            var batches = TokenBatcher.Batches(SourceLengths(train), TargetLengths(train), options.MaxTokens, options.Seed * 1_000_003 + state.Epoch,
                skipOverBudget: true);
            while (state.BatchInEpoch < batches.Count && state.StopReason is null)
            {
                if (cancel.IsCancellationRequested)
                {
                    SaveCheckpoint(state);
                    throw new OperationCanceledException($"interrupted; resumable checkpoint saved at update {state.Update}", cancel);
                }
                int take = Math.Min(options.UpdateFrequency, batches.Count - state.BatchInEpoch);
                (var stats, gradientNorm) = Update(state.Update, batches.Skip(state.BatchInEpoch).Take(take).ToList());
                sinceLog += stats;
                state = state with { Update = state.Update + 1, BatchInEpoch = state.BatchInEpoch + take, ElapsedSeconds = ElapsedSeconds() };
                clock.Restart();

                if (state.Update % options.LogEvery == 0)
                {
                    Report(progress, state, sinceLog, gradientNorm, logClock.Elapsed.TotalSeconds, null, null);
                    sinceLog = BatchStatistics.Zero;
                    logClock.Restart();
                }
                state = state with { StopReason = LimitReached(state) };
                if (options.ValidateEvery > 0 && state.Update % options.ValidateEvery == 0 || state.StopReason is not null)
                {
                    // The clock keeps running through validation: --max-minutes bounds wall time, not just updates.
                    state = ValidateAndSave(state, progress);
                    savedUpdate = state.Update;
                    logClock.Restart();
                }
            }
            if (state.StopReason is null)
            {
                state = state with { Epoch = state.Epoch + 1, BatchInEpoch = 0 };
                state = state with { StopReason = LimitReached(state) };
                if (options.ValidateEvery == 0 || state.StopReason is not null)
                {
                    state = ValidateAndSave(state, progress);
                    savedUpdate = state.Update;
                }
            }
        }
        if (savedUpdate != state.Update || !checkpoints.HasLast) state = ValidateAndSave(state, progress);
        else CheckpointDirectory.WriteState(checkpoints.LastLink, state);
        return new TrainingResult(checkpoints.BestLink, state);
    }

    private (BatchStatistics Stats, double GradientNorm) Update(int update, IReadOnlyList<int[]> batches)
    {
        torch.manual_seed(options.Seed * 7919L + update);
        var total = BatchStatistics.Zero;
        foreach (var batch in batches)
        {
            using var scope = torch.NewDisposeScope();
            var (loss, stats) = criterion.Forward(model, batch.Select(i => train.Sources[i]).ToList(), batch.Select(i => train.Targets[i]).ToList(), update);
            (loss / batches.Count).backward();
            total += stats;
        }
        double norm;
        using (torch.NewDisposeScope())
        {
            norm = options.ClipNorm > 0
                ? nn.utils.clip_grad_norm_(model.Module.parameters(), options.ClipNorm)
                : GradientNorm();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = options.LearningRateAt(update);
            optimizer.step();
            optimizer.zero_grad();
        }
        return (total, norm);
    }

    private double GradientNorm()
    {
        double sum = 0;
        foreach (var p in model.Module.parameters())
            if (p.grad is { } g) sum += g.pow(2).sum().item<float>();
        return Math.Sqrt(sum);
    }

    private string? LimitReached(TrainerState s) =>
        options.MaxUpdates is { } u && s.Update >= u ? $"max updates ({u})"
        : options.MaxEpochs is { } e && s.Epoch >= e ? $"max epochs ({e})"
        : options.MaxMinutes is { } m && s.ElapsedSeconds >= m * 60 ? $"max minutes ({m})"
        : options.Patience is { } p && s.ValidationsWithoutImprovement >= p ? $"patience ({p} validations without improvement)"
        : null;

    private TrainerState ValidateAndSave(TrainerState state, IProgress<TrainingProgress>? progress)
    {
        var (validStats, bleu) = Validate();
        double? score = options.BestMetric == BestCheckpointMetric.Bleu && bleu is not null ? bleu : validStats is null ? null : -validStats.Nll;
        bool improved = score is not null && (state.BestScore is null || score > state.BestScore);
        state = state with
        {
            LastValidLoss = validStats?.Loss,
            LastValidBleu = bleu,
            BestScore = improved ? score : state.BestScore,
            ValidationsWithoutImprovement = improved || score is null ? 0 : state.ValidationsWithoutImprovement + 1,
        };
        state = state with { StopReason = state.StopReason ?? LimitReached(state) };
        var saved = SaveCheckpoint(state);
        if (improved || state.BestCheckpoint is null || !Directory.Exists(checkpoints.BestLink))
        {
            checkpoints.MarkBest(saved);
            state = state with { BestCheckpoint = Path.GetFileName(saved) };
            CheckpointDirectory.WriteState(saved, state);
        }
        checkpoints.Prune(options.KeepLast);
        if (validStats is not null)
            Report(progress, state, validStats, 0, 0, validStats.Loss, bleu);
        return state;
    }

    private (BatchStatistics? Stats, double? Bleu) Validate()
    {
        if (valid is null || valid.Count == 0) return (null, null);
        model.Module.eval();
        try
        {
            var total = BatchStatistics.Zero;
            using (torch.no_grad())
            {
                var batches = TokenBatcher.Batches(SourceLengths(valid), TargetLengths(valid), options.MaxTokens, null, skipOverBudget: true);
                foreach (var batch in batches)
                {
                    using var scope = torch.NewDisposeScope();
                    total += criterion.Forward(model, batch.Select(i => valid.Sources[i]).ToList(), batch.Select(i => valid.Targets[i]).ToList()).Statistics;
                }
            }
            return (total, validationBleu?.Invoke(model));
        }
        finally
        {
            model.Module.train();
        }
    }

    private string SaveCheckpoint(TrainerState state) => checkpoints.Save(state.Update, dir =>
    {
        var provenance = (JsonObject)contents.Provenance.DeepClone();
        provenance["options"] = JsonSerializer.SerializeToNode(options, OnDiskJson.Options);
        provenance["update"] = state.Update;
        if (state.ContinuedFrom is not null)
        {
            provenance["continued_from"] = state.ContinuedFrom;
            provenance["optimizer_reset_at"] = state.OptimizerResetAt;
        }
        ModelStore.WriteFiles(dir, new ModelManifest { Kind = model.Kind, Config = model.Config, Tokenizer = contents.Tokenizer, Languages = contents.Languages, Training = provenance },
            model, contents.TokenizerDirectory);
        optimizer.save_state_dict(Path.Combine(dir, CheckpointDirectory.OptimizerFile));
        CheckpointDirectory.WriteState(dir, state);
    });

    private TrainerState StartFresh(bool resume)
    {
        if (!resume && checkpoints.HasCheckpoints)
            throw NatEmException.In(checkpoints.RunDir, "already holds checkpoints; pass --resume to continue that run or choose a new --out", ExitCodes.Usage);
        AtomicFile.CreateDirectory(checkpoints.RunDir);
        File.Delete(logPath);
        torch.manual_seed(options.Seed);
        if (start.ContinuedFrom is not null)
            File.AppendAllText(logPath, JsonSerializer.Serialize(new { start.Update, start.Epoch, start.ContinuedFrom, start.OptimizerResetAt }, OnDiskJson.Lines) + "\n");
        return start;
    }

    /// <summary>
    /// Continues from checkpoint_last or, when it is missing or damaged, from the newest intact checkpoint, saying so in one
    /// line. With none intact it is an error (exit 4): a resume never starts over and never deletes the run's history.
    /// </summary>
    private TrainerState Resume(Action<string>? notice)
    {
        var damaged = new List<(string Checkpoint, string Problem)>();
        var lastExists = checkpoints.HasLast;
        foreach (var candidate in checkpoints.ResumeCandidates())
        {
            TrainerState state;
            try
            {
                state = Restore(candidate);
            }
            catch (NatEmException e) when (e.ExitCode == ExitCodes.BadModel)
            {
                damaged.Add((checkpoints.NumberedOf(candidate), e.Message));
                continue;
            }
            if (candidate != checkpoints.LastLink)
            {
                // checkpoint_last was the first candidate when its target exists.
                var lastProblem = lastExists ? $"is damaged ({damaged[0].Problem})" : "points at a missing checkpoint";
                checkpoints.ResumeFrom(candidate, damaged.Select(d => d.Checkpoint));
                notice?.Invoke($"checkpoint_last {lastProblem}; "
                    + $"resuming from the newest intact checkpoint, {candidate} (update {state.Update})"
                    + (damaged.Count > 0 ? $"; damaged checkpoints renamed to damaged_*: {string.Join(", ", damaged.Select(d => Path.GetFileName(d.Checkpoint)))}" : ""));
            }
            return state;
        }
        throw NatEmException.In(checkpoints.RunDir,
            $"--resume: no intact checkpoint to continue from ({(damaged.Count == 0 ? "checkpoint_last points at a missing checkpoint and there are no others" : string.Join("; ", damaged.Select(d => d.Problem)))}); "
            + "nothing was changed: restore a checkpoint, or start a new run with another --out", ExitCodes.BadModel);
    }

    private TrainerState Restore(string last)
    {
        var manifest = ModelStore.ReadManifest(last);
        if (manifest.Kind != model.Kind || manifest.Config != model.Config)
            throw NatEmException.In(Path.Combine(last, ModelStore.ManifestFile), "the checkpoint's model differs from the requested one; resume with the same preset and options", ExitCodes.Usage);
        ModelStore.LoadWeights(last, model);
        var optimizerPath = Path.Combine(last, CheckpointDirectory.OptimizerFile);
        try
        {
            optimizer.load_state_dict(optimizerPath);
        }
        catch (Exception e)
        {
            throw NatEmException.In(optimizerPath, $"unreadable optimizer state ({e.Message.Split('\n')[0]})", ExitCodes.BadModel);
        }
        var state = CheckpointDirectory.ReadState(last);
        TrimLog(state.Update);
        // A run that ended can be extended with larger limits; with the same limits it stays finished.
        return state with { StopReason = LimitReached(state) };
    }

    /// <summary>
    /// Drops the log entries an interrupted process wrote after the checkpoint being resumed (and a last line cut
    /// by a kill), so that the log of a resumed run reads like the log of an uninterrupted one.
    /// </summary>
    private void TrimLog(int update)
    {
        if (!File.Exists(logPath)) return;
        static int? UpdateOf(string line)
        {
            try
            {
                return JsonNode.Parse(line)?["update"]?.GetValue<int>();
            }
            catch (JsonException)
            {
                return null;
            }
        }
        AtomicFile.WriteAllLines(logPath, File.ReadAllLines(logPath).TakeWhile(line => UpdateOf(line) is { } u && u <= update).ToList());
    }

    private void Report(IProgress<TrainingProgress>? progress, TrainerState state, BatchStatistics stats, double gradientNorm, double seconds, double? validLoss, double? validBleu)
    {
        var entry = new TrainingProgress(state.Update, state.Epoch, stats.Loss, stats.Nll, stats.Perplexity,
            seconds > 0 ? (stats.Tokens + stats.Revealed) / seconds : 0, options.LearningRateAt(Math.Max(0, state.Update - 1)), gradientNorm, state.ElapsedSeconds,
            stats.HasLengthTerm ? stats.LengthLoss : null, validLoss, validBleu, Fraction(state),
            options.Glancing is not null && validLoss is null ? stats.RevealedFraction : null, stats.Tokens);
        File.AppendAllText(logPath, JsonSerializer.Serialize(entry, OnDiskJson.Lines) + "\n");
        progress?.Report(entry);
    }

    private double? Fraction(TrainerState s)
    {
        var fractions = new List<double>();
        if (options.MaxUpdates is { } u) fractions.Add((double)s.Update / u);
        if (options.MaxMinutes is { } m) fractions.Add(s.ElapsedSeconds / (m * 60));
        return fractions.Count == 0 ? null : Math.Min(1, fractions.Max());
    }
}
