using System.CommandLine;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Cli;

/// <summary>
/// The command-line options shared by every command that trains (train-ar, train-nar, em); commands that train
/// NAR models also get the NAR architecture options.
/// </summary>
public sealed class TrainingOptionsBinder(bool narArchitecture)
{
    private static readonly TrainingOptions Defaults = new();
    private static readonly ArchitectureOptions ArchitectureDefaults = new();

    public readonly Option<string?> Preset = new("--preset") { Description = $"Model size: tiny, small or base (default {ArchitectureDefaults.Preset})" };
    public readonly Option<int?> MaxTokens = new("--max-tokens") { Description = $"Padded tokens per batch (default {Defaults.MaxTokens})" };
    public readonly Option<int?> UpdateFrequency = new("--update-freq") { Description = $"Batches accumulated per update (default {Defaults.UpdateFrequency})" };
    public readonly Option<double?> LearningRate = new("--lr") { Description = $"Peak learning rate (default {Defaults.LearningRate})" };
    public readonly Option<int?> Warmup = new("--warmup") { Description = $"Warm-up updates (default {Defaults.WarmupUpdates})" };
    public readonly Option<LearningRateSchedule?> Schedule = EnumOptions.Create<LearningRateSchedule>("--lr-schedule",
        $"Decay after warm-up: InverseSqrt (open-ended) or Cosine (to --min-lr at --max-updates) (default {Defaults.Schedule})");
    public readonly Option<double?> MinLearningRate = new("--min-lr") { Description = $"Floor of the learning rate (default {Defaults.MinLearningRate})" };
    public readonly Option<double?> ClipNorm = new("--clip-norm") { Description = $"Gradient-norm clip, 0 = off (default {Defaults.ClipNorm})" };
    public readonly Option<double?> LabelSmoothing = new("--label-smoothing") { Description = $"Label smoothing (default {Defaults.LabelSmoothing})" };
    public readonly Option<double?> Dropout = new("--dropout") { Description = "Dropout (default: the preset's)" };
    public readonly Option<int?> MaxUpdates = new("--max-updates") { Description = "Stop after this many updates" };
    public readonly Option<int?> MaxEpochs = new("--max-epochs") { Description = "Stop after this many epochs" };
    public readonly Option<double?> MaxMinutes = new("--max-minutes") { Description = "Stop after this many minutes of training (summed across resumes)" };
    public readonly Option<int?> ValidateEvery = new("--validate-every") { Description = $"Validate and checkpoint every N updates, 0 = every epoch (default {Defaults.ValidateEvery})" };
    public readonly Option<int?> LogEvery = new("--log-every") { Description = $"Log every N updates (default {Defaults.LogEvery})" };
    public readonly Option<int?> Patience = new("--patience") { Description = "Early stop after N validations without improvement" };
    public readonly Option<int?> KeepLast = new("--keep-last") { Description = $"Numbered checkpoints kept besides best and last (default {Defaults.KeepLast})" };
    public readonly Option<BestCheckpointMetric?> BestMetric = EnumOptions.Create<BestCheckpointMetric>("--best-metric", $"What selects checkpoint_best (default {Defaults.BestMetric})");
    public readonly Option<int?> Seed = new("--seed") { Description = $"Random seed (default {Defaults.Seed})" };
    public readonly RuntimeOptionsBinder Runtime = new();
    public readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint (or, if that one is missing or damaged, the newest intact one)" };
    public readonly Option<bool> Force = new("--force") { Description = "Write into --out even when it holds files that are not a run of this command" };
    public readonly Option<NarDecoderInput?> DecoderInput = EnumOptions.Create<NarDecoderInput>("--decoder-input", $"NAR decoder input: Placeholder (the paper's) or UniformCopy (Gu et al.) (default {ArchitectureDefaults.DecoderInput})");
    public readonly Option<string?> Glancing = new("--glancing")
    {
        Description = "NAR: glancing training (GLAT); optional ratio schedule START[:END][@UPDATES], "
            + $"default {new GlancingSchedule().Start}:{new GlancingSchedule().End} annealed over the run's --max-updates (or --max-epochs)",
        Arity = ArgumentArity.ZeroOrOne,
    };
    public readonly Option<LengthPrediction?> LengthPrediction = EnumOptions.Create<LengthPrediction>("--length-prediction", $"NAR length classifier: Absolute (the paper's) or Offset (fairseq) (default {ArchitectureDefaults.LengthPrediction})");

    public readonly Option<NarLoss?> NarLoss = EnumOptions.Create<NarLoss>("--nar-loss",
        $"NAR objective: Length (a length classifier, the paper's) or Ctc (CTC over R x source-length positions, no length) (default {ArchitectureDefaults.NarLoss})");
    public readonly Option<int?> Upsample = new("--upsample") { Description = $"NAR with --nar-loss ctc: decoder positions per source token, R (default {ArchitectureDefaults.Upsample})" };

    public IEnumerable<Option> All => [Preset, MaxTokens, UpdateFrequency, LearningRate, Warmup, Schedule, MinLearningRate, ClipNorm, LabelSmoothing, Dropout, MaxUpdates,
        MaxEpochs, MaxMinutes, ValidateEvery, LogEvery, Patience, KeepLast, BestMetric, Seed, .. Runtime.All, Resume, Force,
        .. narArchitecture ? new Option[] { DecoderInput, LengthPrediction, NarLoss, Upsample, Glancing } : []];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Options.Add(option);
    }

    /// <summary>--resume, which needs a started run (a run directory is created when a run starts): a typo in --out must not start afresh.</summary>
    public bool ResumeOf(ParseResult p, string runDir)
    {
        if (!p.GetValue(Resume)) return false;
        if (!Directory.Exists(runDir))
            throw NatEmException.In(runDir, "--resume: no such run directory; check --out, or drop --resume to start a new run", ExitCodes.Usage);
        return true;
    }

    /// <summary>Training options: defaults overridden by the flags given.</summary>
    public TrainingOptions Bind(ParseResult p, TrainingOptions? baseline = null)
    {
        var d = baseline ?? Defaults;
        var runtime = Runtime.Bind(p);
        var options = d with
        {
            MaxTokens = p.GetValue(MaxTokens) ?? d.MaxTokens,
            UpdateFrequency = p.GetValue(UpdateFrequency) ?? d.UpdateFrequency,
            LearningRate = p.GetValue(LearningRate) ?? d.LearningRate,
            WarmupUpdates = p.GetValue(Warmup) ?? d.WarmupUpdates,
            Schedule = p.GetValue(Schedule) ?? d.Schedule,
            MinLearningRate = p.GetValue(MinLearningRate) ?? d.MinLearningRate,
            ClipNorm = p.GetValue(ClipNorm) ?? d.ClipNorm,
            LabelSmoothing = p.GetValue(LabelSmoothing) ?? d.LabelSmoothing,
            MaxUpdates = p.GetValue(MaxUpdates) ?? d.MaxUpdates,
            MaxEpochs = p.GetValue(MaxEpochs) ?? d.MaxEpochs,
            MaxMinutes = p.GetValue(MaxMinutes) ?? d.MaxMinutes,
            ValidateEvery = p.GetValue(ValidateEvery) ?? d.ValidateEvery,
            LogEvery = p.GetValue(LogEvery) ?? d.LogEvery,
            Patience = p.GetValue(Patience) ?? d.Patience,
            KeepLast = p.GetValue(KeepLast) ?? d.KeepLast,
            BestMetric = p.GetValue(BestMetric) ?? d.BestMetric,
            Seed = p.GetValue(Seed) ?? d.Seed,
            Threads = runtime.Threads ?? d.Threads,
            Precision = PrecisionOption.Resolve(runtime.Precision ?? d.Precision),
        };
        options.Validate();
        return options;
    }

    /// <summary>Training options of NAR models: <see cref="Bind"/> and the NAR-only training flags.</summary>
    public TrainingOptions BindNar(ParseResult p, TrainingOptions? baseline = null)
    {
        var options = Bind(p, baseline);
        if (p.GetResult(Glancing) is not { Implicit: false }) return options;
        options = options with { Glancing = p.GetValue(Glancing) is { } text ? GlancingSchedule.Parse(text) : new GlancingSchedule() };
        options.Validate();
        return options;
    }

    /// <summary>Architecture choices: defaults overridden by the flags given.</summary>
    public ArchitectureOptions Architecture(ParseResult p, ArchitectureOptions? baseline = null)
    {
        var d = baseline ?? ArchitectureDefaults;
        var options = d with { Preset = p.GetValue(Preset) ?? d.Preset, Dropout = p.GetValue(Dropout) ?? d.Dropout };
        return narArchitecture
            ? options with
            {
                DecoderInput = p.GetValue(DecoderInput) ?? d.DecoderInput, LengthPrediction = p.GetValue(LengthPrediction) ?? d.LengthPrediction,
                NarLoss = p.GetValue(NarLoss) ?? d.NarLoss, Upsample = p.GetValue(Upsample) ?? d.Upsample,
            }
            : options;
    }
}
