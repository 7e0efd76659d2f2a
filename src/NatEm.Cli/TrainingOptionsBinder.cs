using System.CommandLine;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Cli;

/// <summary>
/// The command-line options shared by every command that trains (train-ar, train-nar, em); commands that train
/// NAR models also get the NAR architecture options.
/// </summary>
public sealed class TrainingOptionsBinder
{
    private readonly bool _nar;
    private readonly RecordOptions<ArchitectureOptions> _architecture, _narArchitecture;
    private readonly RecordOptions<TrainingOptions> _training;

    public readonly RuntimeOptionsBinder Runtime = new();
    public readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its last checkpoint (or, if that one is missing or damaged, the newest intact one)" };
    public readonly Option<bool> Force = SharedOptions.Force("a run of this command");
    public readonly Option<string?> Glancing = new("--glancing")
    {
        Description = "NAR: glancing training (GLAT); optional ratio schedule START[:END][@UPDATES], "
            + $"default {new GlancingSchedule().Start}:{new GlancingSchedule().End} annealed over the run's --max-updates (or --max-epochs)",
        Arity = ArgumentArity.ZeroOrOne,
    };

    /// <param name="narArchitecture">Whether the command trains NAR models, which take the NAR architecture flags.</param>
    /// <param name="defaults">The options that flags not given leave (EM's and the demo's are not new records), shown by the help.</param>
    public TrainingOptionsBinder(bool narArchitecture, TrainingOptions? defaults = null, ArchitectureOptions? architectureDefaults = null)
    {
        _nar = narArchitecture;
        architectureDefaults ??= new ArchitectureOptions();
        _architecture = new(architectureDefaults)
        {
            { "--preset", "Model size: tiny, small or base", o => o.Preset, (o, v) => o with { Preset = v } },
            { "--dropout", "Dropout (default: the preset's)", o => o.Dropout, (o, v) => o with { Dropout = v } },
        };
        _training = new(defaults ?? new TrainingOptions())
        {
            { "--max-tokens", "Padded tokens per batch", o => o.MaxTokens, (o, v) => o with { MaxTokens = v } },
            { "--update-freq", "Batches accumulated per update", o => o.UpdateFrequency, (o, v) => o with { UpdateFrequency = v } },
            { "--lr", "Peak learning rate", o => o.LearningRate, (o, v) => o with { LearningRate = v } },
            { "--warmup", "Warm-up updates: the learning rate rises linearly to --lr over them", o => o.WarmupUpdates, (o, v) => o with { WarmupUpdates = v } },
            { EnumOptions.Create<LearningRateSchedule>("--lr-schedule", "Decay after warm-up: InverseSqrt (open-ended) or Cosine (to --min-lr at --max-updates)"),
                o => o.Schedule, (o, v) => o with { Schedule = v } },
            { "--min-lr", "Floor of the learning rate", o => o.MinLearningRate, (o, v) => o with { MinLearningRate = v } },
            { "--clip-norm", "Gradient-norm clip, 0 = off", o => o.ClipNorm, (o, v) => o with { ClipNorm = v } },
            { "--label-smoothing", "Label smoothing", o => o.LabelSmoothing, (o, v) => o with { LabelSmoothing = v } },
            { "--max-updates", "Stop after this many updates", o => o.MaxUpdates, (o, v) => o with { MaxUpdates = v } },
            { "--max-epochs", "Stop after this many epochs", o => o.MaxEpochs, (o, v) => o with { MaxEpochs = v } },
            { "--max-minutes", "Stop after this many minutes of training (summed across resumes)", o => o.MaxMinutes, (o, v) => o with { MaxMinutes = v } },
            { "--validate-every", "Validate and checkpoint every N updates, 0 = every epoch", o => o.ValidateEvery, (o, v) => o with { ValidateEvery = v } },
            { "--log-every", "Log every N updates", o => o.LogEvery, (o, v) => o with { LogEvery = v } },
            { "--patience", "Early stop after N validations without improvement", o => o.Patience, (o, v) => o with { Patience = v } },
            { "--keep-last", "Numbered checkpoints kept besides best and last", o => o.KeepLast, (o, v) => o with { KeepLast = v } },
            { EnumOptions.Create<BestCheckpointMetric>("--best-metric", "What selects checkpoint_best"), o => o.BestMetric, (o, v) => o with { BestMetric = v } },
            { "--seed", "Random seed", o => o.Seed, (o, v) => o with { Seed = v } },
        };
        _narArchitecture = new(architectureDefaults)
        {
            { EnumOptions.Create<NarDecoderInput>("--decoder-input", "NAR decoder input: Placeholder (the paper's) or UniformCopy (Gu et al.)"),
                o => o.DecoderInput, (o, v) => o with { DecoderInput = v } },
            { EnumOptions.Create<LengthPrediction>("--length-prediction", "NAR length classifier: Absolute (the paper's) or Offset (fairseq)"),
                o => o.LengthPrediction, (o, v) => o with { LengthPrediction = v } },
            { EnumOptions.Create<NarLoss>("--nar-loss", "NAR objective: Length (a length classifier, the paper's) or Ctc (CTC over R x source-length positions, no length)"),
                o => o.NarLoss, (o, v) => o with { NarLoss = v } },
            { "--upsample", "NAR with --nar-loss ctc: decoder positions per source token, R", o => o.Upsample, (o, v) => o with { Upsample = v } },
        };
    }

    public IEnumerable<Option> All => [.. _architecture, .. _training, .. Runtime.All, Resume, Force, .. _nar ? [.. _narArchitecture, Glancing] : Array.Empty<Option>()];

    public void AddTo(Command command) => command.Add(All);

    /// <summary>--resume, which needs a started run (a run directory is created when a run starts): a typo in --out must not start afresh.</summary>
    public bool ResumeOf(ParseResult p, string runDir)
    {
        if (!p.GetValue(Resume)) return false;
        if (!Directory.Exists(runDir))
            throw NatEmException.In(runDir, "--resume: no such run directory; check --out, or drop --resume to start a new run", ExitCodes.Usage);
        return true;
    }

    /// <summary>Training options: <paramref name="baseline"/> (else the defaults) with the flags given set.</summary>
    public TrainingOptions Bind(ParseResult p, TrainingOptions? baseline = null)
    {
        var runtime = Runtime.Bind(p);
        var options = _training.Apply(p, baseline);
        options = options with { Threads = runtime.Threads ?? options.Threads, Precision = PrecisionOption.Resolve(runtime.Precision ?? options.Precision) };
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

    /// <summary>Architecture choices: <paramref name="baseline"/> (else the defaults) with the flags given set.</summary>
    public ArchitectureOptions Architecture(ParseResult p, ArchitectureOptions? baseline = null)
    {
        var options = _architecture.Apply(p, baseline);
        return _nar ? _narArchitecture.Apply(p, options) : options;
    }
}
