namespace NatEm.Training;

/// <summary>Which validation figure selects checkpoint_best and drives early stopping.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<BestCheckpointMetric>))]
public enum BestCheckpointMetric { Bleu, Loss }

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
    /// <summary>Peak learning rate reached at the end of warm-up, then decayed as 1/√update.</summary>
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupUpdates { get; init; } = 1000;
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

    public void Validate()
    {
        void Require(bool ok, string problem) { if (!ok) throw new NatEmException($"invalid training option: {problem}", ExitCodes.Usage); }
        Require(MaxTokens >= 16, "--max-tokens must be at least 16");
        Require(UpdateFrequency >= 1, "--update-freq must be at least 1");
        Require(LearningRate > 0, "--lr must be positive");
        Require(WarmupUpdates >= 0, "--warmup must be non-negative");
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

    /// <summary>Inverse-square-root schedule with linear warm-up (fairseq inverse_sqrt).</summary>
    public double LearningRateAt(int update)
    {
        if (WarmupUpdates == 0) return LearningRate;
        return update < WarmupUpdates
            ? LearningRate * (update + 1) / WarmupUpdates
            : LearningRate * Math.Sqrt((double)WarmupUpdates / (update + 1));
    }
}
