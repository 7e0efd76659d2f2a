using System.Globalization;
using NatEm.Modeling;

namespace NatEm.Em;

/// <summary>
/// A round of an EM run: round 0 trains q₀ only; rounds 1…K are the EM rounds; the final round distills q_K into
/// the final NAR model.
/// </summary>
public readonly record struct EmRound
{
    private const int FinalNumber = int.MaxValue;

    private EmRound(int number) => Number = number;

    /// <summary>0, k for EM round k, <see cref="int.MaxValue"/> for the final round.</summary>
    public int Number { get; }

    public static EmRound Initial => new(0);
    public static EmRound Final => new(FinalNumber);

    /// <summary>EM round k, 1 ≤ k.</summary>
    public static EmRound Em(int k) => k >= 1 && k != FinalNumber ? new(k) : throw new ArgumentOutOfRangeException(nameof(k));

    public bool IsFinal => Number == FinalNumber;

    /// <summary>"round0", "roundK" or "final": the round's folder under the run directory and its report's key in em_state.json.</summary>
    public string Name => IsFinal ? "final" : $"round{Number.ToString(CultureInfo.InvariantCulture)}";

    public string Directory(string runDir) => Path.Combine(runDir, Name);

    public override string ToString() => Name;
}

/// <summary>What a stage of an EM round does.</summary>
public enum EmStep
{
    /// <summary>Trains the AR model (q₀ in round 0, the E-step's qₖ in round k).</summary>
    Ar,
    /// <summary>Decodes the training sources with the round's AR teacher (the NAR model's targets).</summary>
    Distill,
    /// <summary>Trains the NAR model pₖ on the distilled targets (the M-step).</summary>
    Nar,
    /// <summary>Decodes the teacher's N-best candidates for every training source.</summary>
    NBest,
    /// <summary>Scores every candidate with the NAR model (the selection step).</summary>
    Scores,
}

/// <summary>
/// One stage of an EM run. Its <see cref="Name"/> is its folder under the run directory and its key in em_state.json:
/// <c>ar0</c>, <c>roundK/distill</c>, <c>roundK/nar</c>, <c>roundK/nbest</c>, <c>roundK/scores</c>, <c>roundK/ar</c>,
/// <c>final/distill</c>, <c>final/nar</c>.
/// </summary>
public readonly record struct EmStage(EmRound Round, EmStep Step)
{
    /// <summary>Round 0's only stage: training q₀ on the real pairs.</summary>
    public static EmStage InitialAr => new(EmRound.Initial, EmStep.Ar);

    public string Name => this == InitialAr ? "ar0" : $"{Round.Name}/{Step.ToString().ToLowerInvariant()}";

    public string Directory(string runDir) => this == InitialAr ? Path.Combine(runDir, Name) : Path.Combine(Round.Directory(runDir), Step.ToString().ToLowerInvariant());

    /// <summary>The kind of model the stage trains; null for a decoding pass.</summary>
    public ModelKind? Trains => Step switch
    {
        EmStep.Ar => ModelKind.Autoregressive,
        EmStep.Nar => ModelKind.NonAutoregressive,
        _ => null,
    };

    /// <summary>The beam width of the stage's pass over the training sources; 0 when it decodes nothing (training, scoring).</summary>
    public int Beams(EmOptions options) => Step switch
    {
        EmStep.Distill => options.DistillBeam,
        EmStep.NBest => options.NBest,
        _ => 0,
    };

    public override string ToString() => Name;
}

/// <summary>
/// The stages of an EM run in order: <c>ar0</c> (unless --initial-ar gives q₀); for k = 1…K distill, nar (unless
/// --initial-nar gives p₁), nbest, scores, ar; then final distill and final nar. The time budget is split along it.
/// </summary>
public sealed class EmPlan
{
    private readonly EmOptions options;

    public EmPlan(EmOptions options)
    {
        this.options = options;
        var stages = new List<EmStage>();
        if (options.InitialAr is null) stages.Add(EmStage.InitialAr);
        for (int k = 1; k <= options.Iterations; k++)
            foreach (var step in new[] { EmStep.Distill, EmStep.Nar, EmStep.NBest, EmStep.Scores, EmStep.Ar })
                if (!(k == 1 && step == EmStep.Nar && options.InitialNar is not null))
                    stages.Add(new EmStage(EmRound.Em(k), step));
        stages.Add(new EmStage(EmRound.Final, EmStep.Distill));
        stages.Add(new EmStage(EmRound.Final, EmStep.Nar));
        Stages = stages;
    }

    public IReadOnlyList<EmStage> Stages { get; }

    /// <summary>Sum of the beam sizes of the decoding passes that come after <paramref name="stage"/>.</summary>
    public int DecodingBeamsAfter(EmStage stage) => After(stage).Sum(s => s.Beams(options));

    /// <summary>Training stages from <paramref name="stage"/> on, itself included.</summary>
    public int TrainingStagesFrom(EmStage stage) => After(stage).Count(s => s.Trains is not null) + (stage.Trains is not null ? 1 : 0);

    /// <summary>
    /// Minutes of <paramref name="budget"/> for training stage <paramref name="stage"/>, given the minutes already used and
    /// the measured minutes per beam of the decoding passes (<see cref="EmBudget"/>).
    /// </summary>
    public double TrainingMinutes(EmStage stage, double budget, double elapsed, double minutesPerBeam) =>
        EmBudget.TrainingStageMinutes(budget, elapsed, TrainingStagesFrom(stage), minutesPerBeam * DecodingBeamsAfter(stage));

    private IEnumerable<EmStage> After(EmStage stage)
    {
        int index = Stages.ToList().IndexOf(stage);
        return index >= 0 ? Stages.Skip(index + 1) : throw new ArgumentException($"{stage} is not a stage of this run", nameof(stage));
    }
}

/// <summary>
/// How `--budget-minutes` is split. Decoding passes over the training sources (distillation, N-best lists, their
/// scoring) cannot be stopped early, so each training stage first reserves time for the passes still to come,
/// estimated from the minutes per beam of those already run, then takes an equal share of the rest. Without the
/// reservation the last NAR stage gets what the decoding passes left over.
/// </summary>
public static class EmBudget
{
    /// <summary>Minutes for the current training stage; <paramref name="stagesLeft"/> counts it.</summary>
    public static double TrainingStageMinutes(double budget, double elapsed, int stagesLeft, double reservedForDecoding) =>
        Math.Max(0.25, (budget - elapsed - reservedForDecoding) / Math.Max(1, stagesLeft));
}
