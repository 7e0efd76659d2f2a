using System.Text.Json;
using System.Text.Json.Nodes;
using NatEm.IO;

namespace NatEm.Training;

/// <summary>Which validation figure selects checkpoint_best and drives early stopping.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<BestCheckpointMetric>))]
public enum BestCheckpointMetric { Bleu, Loss }

/// <summary>How the learning rate decays after the linear warm-up.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<LearningRateSchedule>))]
public enum LearningRateSchedule
{
    /// <summary>fairseq's inverse_sqrt: peak × √(warm-up / update), open-ended.</summary>
    InverseSqrt,
    /// <summary>Half a cosine from the peak down to --min-lr at --max-updates, for a run of planned length.</summary>
    Cosine,
}

/// <summary>
/// Optimization and schedule settings shared by AR and NAR training. Defaults follow fairseq's
/// transformer recipe scaled to a 2-core CPU.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Padded tokens per batch (bounds memory).</summary>
    public int MaxTokens { get; init; } = 4096;
    /// <summary>Batches accumulated per optimizer update (fairseq --update-freq).</summary>
    public int UpdateFrequency { get; init; } = 1;
    /// <summary>Peak learning rate reached at the end of warm-up, then decayed by <see cref="Schedule"/>.</summary>
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupUpdates { get; init; } = 1000;
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.InverseSqrt;
    /// <summary>The floor the rate never decays below; the cosine schedule reaches it at --max-updates.</summary>
    public double MinLearningRate { get; init; }
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.98;
    public double AdamEpsilon { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.0;
    /// <summary>Gradient-norm clipping threshold; 0 disables clipping.</summary>
    public double ClipNorm { get; init; } = 1.0;
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>NAR only: weight of the length-prediction loss.</summary>
    public double LengthLossWeight { get; init; } = 0.1;
    /// <summary>NAR only: glancing training (GLAT) with this ratio schedule; null = off (the paper's plain M-step).</summary>
    public GlancingSchedule? Glancing { get; init; }

    public int? MaxUpdates { get; init; }
    public int? MaxEpochs { get; init; }
    public double? MaxMinutes { get; init; }
    /// <summary>Validate (and checkpoint) every N updates; 0 = at the end of every epoch only.</summary>
    public int ValidateEvery { get; init; } = 1000;
    public int LogEvery { get; init; } = 50;
    /// <summary>Stop after this many validations without improvement; null = never.</summary>
    public int? Patience { get; init; }
    /// <summary>Numbered checkpoints kept besides best and last.</summary>
    public int KeepLast { get; init; } = 3;
    public BestCheckpointMetric BestMetric { get; init; } = BestCheckpointMetric.Bleu;
    public int Seed { get; init; } = 1;
    /// <summary>
    /// Compute dtype of linear layers and attention (<see cref="Modeling.MixedPrecision"/>); weights, optimizer state and
    /// checkpoints stay fp32, so a run may resume in the other precision. Default: bf16 where the CPU has it natively.
    /// </summary>
    public Modeling.Precision Precision { get; init; } = Modeling.Precisions.MachineDefault;
    /// <summary>libtorch intra-op threads; 0 = number of physical cores (Environment.ProcessorCount).</summary>
    public int Threads { get; init; }

    public int ResolvedThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>
    /// These options with those that do not change which batches a run takes at which learning rate and glancing ratio
    /// set to their defaults: when it stops early (--max-minutes, --patience), how often it logs, validates and keeps
    /// checkpoints, what selects checkpoint_best, and its threads and precision (which change rounding only, as on a resume).
    /// </summary>
    public TrainingOptions Trajectory() => this with
    {
        MaxMinutes = null, Patience = null, LogEvery = 1, ValidateEvery = 0, KeepLast = 0, BestMetric = default, Precision = default, Threads = 0,
    };

    /// <summary>
    /// The first option of the <see cref="Trajectory"/> that differs from <paramref name="recorded"/>'s, by its name in
    /// model.json (training.options) with both values as JSON; null when the trajectories are the same.
    /// </summary>
    public (string Name, string Recorded, string Given)? FirstTrajectoryDifference(TrainingOptions recorded)
    {
        var given = JsonSerializer.SerializeToNode(Trajectory(), OnDiskJson.Options)!.AsObject();
        foreach (var (name, value) in JsonSerializer.SerializeToNode(recorded.Trajectory(), OnDiskJson.Options)!.AsObject())
            if (!JsonNode.DeepEquals(value, given[name]))
                return (name, value?.ToJsonString() ?? "null", given[name]?.ToJsonString() ?? "null");
        return null;
    }

    public void Validate()
    {
        void Require(bool ok, string problem) { if (!ok) throw new NatEmException($"invalid training option: {problem}", ExitCodes.Usage); }
        Require(MaxTokens >= 16, "--max-tokens must be at least 16");
        Require(UpdateFrequency >= 1, "--update-freq must be at least 1");
        Require(double.IsFinite(LearningRate) && LearningRate > 0, "--lr must be positive");
        Require(WarmupUpdates >= 0, "--warmup must be non-negative");
        Require(double.IsFinite(MinLearningRate) && MinLearningRate >= 0 && MinLearningRate < LearningRate, "--min-lr must be in [0, --lr)");
        Require(Schedule != LearningRateSchedule.Cosine || MaxUpdates > WarmupUpdates,
            "--lr-schedule cosine needs --max-updates (the update it decays to --min-lr at) beyond --warmup");
        Require(ClipNorm >= 0, "--clip-norm must be non-negative");
        Require(LabelSmoothing is >= 0 and < 1, "--label-smoothing must be in [0, 1)");
        Require(LengthLossWeight is >= 0 and < double.PositiveInfinity, "--length-loss-weight must be a finite number of at least 0");
        Require(MaxUpdates is null or > 0, "--max-updates must be positive");
        Require(MaxEpochs is null or > 0, "--max-epochs must be positive");
        Require(MaxMinutes is null or > 0, "--max-minutes must be positive");
        Require(MaxUpdates is not null || MaxEpochs is not null || MaxMinutes is not null, "set at least one of --max-updates, --max-epochs, --max-minutes");
        Require(ValidateEvery >= 0, "--validate-every must be non-negative");
        Require(LogEvery >= 1, "--log-every must be at least 1");
        Require(KeepLast >= 0, "--keep-last must be non-negative");
        Require(Patience is null or >= 1, "--patience must be at least 1");
        Require(Threads >= 0, "--threads must be non-negative");
        Glancing?.Validate();
    }

    /// <summary>
    /// The rate of the update with 0-based index <paramref name="update"/>: linear warm-up to the peak, then
    /// <see cref="Schedule"/>'s decay, never below <see cref="MinLearningRate"/>. A function of the update alone, so a
    /// resumed run continues the schedule exactly.
    /// </summary>
    public double LearningRateAt(int update)
    {
        if (update < WarmupUpdates) return LearningRate * (update + 1) / WarmupUpdates;
        var decayed = Schedule switch
        {
            LearningRateSchedule.Cosine => CosineAt(update),
            _ => WarmupUpdates == 0 ? LearningRate : LearningRate * Math.Sqrt((double)WarmupUpdates / (update + 1)),
        };
        return Math.Max(MinLearningRate, decayed);
    }

    private double CosineAt(int update)
    {
        var progress = Math.Min(1.0, (double)(update + 1 - WarmupUpdates) / (MaxUpdates!.Value - WarmupUpdates));
        return MinLearningRate + (LearningRate - MinLearningRate) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
