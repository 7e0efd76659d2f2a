using NatEm.Data;
using NatEm.IO;
using NatEm.Training;

namespace NatEm.Em;

/// <summary>
/// Sharded decoding passes: `natem em … --stage roundK/nbest --shard i/n` computes shard i of n of one pass into the
/// run directory (on shared storage), in as many processes, or machines, as there are shards; the run itself
/// (`natem em … --resume`) then finds those parts finished, computes any that are missing, merges and goes on.
/// </summary>
public sealed partial class EmRun
{
    /// <summary>
    /// A shard worker on <paramref name="runDir"/>: it reads the run's state (if the run has started) and refuses other
    /// EM options than the run's, but writes only its parts of one pass (<see cref="RunShard"/>), never the state, so
    /// that many workers and the run may share the directory.
    /// </summary>
    public static EmRun ForShard(PreparedData data, EmOptions options, string runDir, IEmObserver? observer = null, CancellationToken cancel = default) =>
        new(data, options, runDir, resume: true, shardWorker: true, observer, cancel);

    /// <summary>
    /// When set, the run stops on reaching a decoding pass whose parts are not all finished (<see cref="EmPassPending"/>),
    /// so that the pass's shards can run elsewhere; the same run started again merges them and goes on.
    /// </summary>
    public bool PauseAtUnfinishedPasses { get; init; }

    private void PauseIfUnfinished(EmStage pass)
    {
        if (PauseAtUnfinishedPasses && !state.DecodingPasses.Contains(pass.Name) && !ChunkedStage.IsFinished(pass.Directory(runDir), train.Count, options.ChunkSize))
            throw new EmPassPending(pass);
    }

    /// <summary>The stage of this run's plan named <paramref name="name"/> ("round1/nbest"); a usage error listing the passes otherwise.</summary>
    public EmStage StageNamed(string name) =>
        plan.Stages.Where(s => s.Name == name).Cast<EmStage?>().FirstOrDefault()
            ?? throw new NatEmException($"--stage {name}: not a stage of this run; its decoding passes are {string.Join(", ", plan.Stages.Where(s => s.Trains is null).Select(s => s.Name))}",
                ExitCodes.Usage);

    /// <summary>
    /// Computes <paramref name="shard"/>'s parts of the decoding pass <paramref name="stage"/> (distill, nbest or scores).
    /// The models and passes it reads must be finished: the round's teacher (trained by the run, or --initial-ar), and
    /// for the scores the round's NAR model and all of its N-best parts.
    /// </summary>
    public ShardOutcome RunShard(EmStage stage, Shard shard)
    {
        using var teacher = LoadWhenNeeded(TeacherOf(stage), LoadAr);
        using var nar = stage.Step == EmStep.Scores ? LoadWhenNeeded(NarOf(stage.Round), LoadNar) : null;
        ChunkedPass<int[]>? tokens = null;
        ChunkedPass<float>? scores = null;
        switch (stage.Step)
        {
            case EmStep.Distill: tokens = DistillPass(stage.Round, teacher); break;
            case EmStep.NBest: tokens = NBestPass(stage.Round, teacher); break;
            case EmStep.Scores: scores = ScoresPass(stage.Round, nar!, NBestPass(stage.Round, teacher).ReadFinished(new EmStage(stage.Round, EmStep.NBest).Name)); break;
            default: throw new NatEmException($"--stage {stage}: it trains a model, which runs in one process; only decoding passes (distill, nbest, scores) run as shards", ExitCodes.Usage);
        }
        return observer.Stage($"{stage}, shard {shard}", progress => tokens?.RunShard(shard, progress, cancel) ?? scores!.RunShard(shard, progress, cancel));
    }

    /// <summary>The AR model that decodes round <paramref name="stage"/>'s passes: q_{k−1} for round k, q_K for the final round.</summary>
    private string TeacherOf(EmStage stage)
    {
        int previous = stage.Round.IsFinal ? options.Iterations : stage.Round.Number - 1;
        if (previous == 0) return options.InitialAr ?? Trained(EmStage.InitialAr, stage);
        return Trained(new EmStage(EmRound.Em(previous), EmStep.Ar), stage);
    }

    /// <summary>p_k, whose scores select round k's candidates.</summary>
    private string NarOf(EmRound round) =>
        round.Number == 1 && options.InitialNar is { } givenNar ? givenNar : Trained(new EmStage(round, EmStep.Nar), new EmStage(round, EmStep.Scores));

    private string Trained(EmStage training, EmStage pass) => state.Finished.Contains(training.Name)
        ? Path.Combine(training.Directory(runDir), "checkpoint_best")
        : throw NatEmException.In(runDir, $"{pass} decodes with the model of {training}, which has not finished training; start the shards once the run (natem em) has trained it", ExitCodes.Usage);
}

/// <summary>The run stopped before <see cref="Pass"/>, a decoding pass not yet finished (<see cref="EmRun.PauseAtUnfinishedPasses"/>).</summary>
public sealed class EmPassPending(EmStage pass) : Exception($"stopped before {pass}, a decoding pass whose parts are not all finished")
{
    public EmStage Pass { get; } = pass;
}
