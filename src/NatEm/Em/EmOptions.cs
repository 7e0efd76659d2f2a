using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Em;

/// <summary>How the selection step compares the NAR scores of one source's candidates.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SelectionScore>))]
public enum SelectionScore
{
    /// <summary>log p_NAR(y|x), the paper's criterion. It sums one log-probability per token, so it favours short candidates.</summary>
    Total,
    /// <summary>log p_NAR(y|x) / (|y| + 1): per token, counting the length prediction as one.</summary>
    PerToken,
}

/// <summary>
/// Settings of the EM procedure (Sun &amp; Yang, ICML 2020). Defaults follow the paper where it is explicit;
/// N = 10 candidates instead of the paper's 20 halves the N-best decoding time, the dominant cost on a CPU.
/// </summary>
public sealed record EmOptions
{
    /// <summary>EM rounds K (each: M-step, selection, E-step).</summary>
    public int Iterations { get; init; } = 3;
    /// <summary>AR candidates per source scored by the NAR model in the selection step.</summary>
    public int NBest { get; init; } = 10;
    /// <summary>Criterion of the selection step (the paper's total log-likelihood by default).</summary>
    public SelectionScore SelectionScore { get; init; } = SelectionScore.Total;
    /// <summary>Beam of the distillation pass whose best output is the NAR training target.</summary>
    public int DistillBeam { get; init; } = 4;
    /// <summary>Initialize p_k from p_{k−1} instead of fresh weights.</summary>
    public bool WarmStartNar { get; init; }
    /// <summary>Initialize q_k from q_{k−1} (default) instead of fresh weights.</summary>
    public bool WarmStartAr { get; init; } = true;
    /// <summary>
    /// Preset and architecture choices for models trained from fresh weights (the NAR-only ones apply to the NAR models);
    /// a warm-started model keeps the architecture of the one it starts from, with --dropout applied if given.
    /// </summary>
    public ArchitectureOptions Architecture { get; init; } = new();
    public TrainingOptions ArTraining { get; init; } = new() { MaxEpochs = 20, ValidateEvery = 0, Patience = 3 };
    public TrainingOptions NarTraining { get; init; } = new() { MaxEpochs = 20, ValidateEvery = 0, Patience = 3 };
    /// <summary>Total wall-clock budget; training stages get shares of what remains (decoding is not bounded).</summary>
    public double? BudgetMinutes { get; init; }
    /// <summary>Use only the first N training pairs (quick runs).</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Use only the first N validation pairs for the per-round BLEU (quick runs).</summary>
    public int? ValidLimit { get; init; }
    /// <summary>
    /// Sources per stored part (part_NNNNN.bin) of each decoding pass: the unit a pass resumes from and a shard
    /// (`--shard i/n`) takes. Smaller parts balance many shards better; every shard and the run must agree on it.
    /// </summary>
    public int ChunkSize { get; init; } = ChunkedStage.DefaultChunkSize;
    /// <summary>An already trained AR model directory to use as q₀ instead of training it.</summary>
    public string? InitialAr { get; init; }
    /// <summary>
    /// An already trained NAR model directory to use as p₁ instead of training it: a model trained on q₀'s
    /// distillation (the KD baseline), so that round 1 starts from it and only the later stages are trained.
    /// </summary>
    public string? InitialNar { get; init; }

    public void Validate()
    {
        void Require(bool ok, string problem) { if (!ok) throw new NatEmException($"invalid EM option: {problem}", ExitCodes.Usage); }
        Require(Iterations >= 0, "--iterations must be ≥ 0");
        Require(NBest >= 1, "--nbest must be ≥ 1");
        Require(DistillBeam >= 1, "--distill-beam must be ≥ 1");
        Require(BudgetMinutes is null or > 0, "--budget-minutes must be positive");
        Require(TrainLimit is null or > 0, "--train-limit must be positive");
        Require(ValidLimit is null or > 0, "--valid-limit must be positive");
        Require(ChunkSize >= 1, "--chunk-size must be ≥ 1");
        Require(InitialNar is null || InitialAr is not null, "--initial-nar needs --initial-ar: p₁ must be a model of q₀'s distillation");
        Require(InitialNar is null || Iterations >= 1, "--initial-nar needs --iterations ≥ 1 (p₁ is round 1's NAR model)");
        ArTraining.Validate();
        NarTraining.Validate();
    }
}
