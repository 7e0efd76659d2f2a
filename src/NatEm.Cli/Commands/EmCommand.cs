using System.CommandLine;
using NatEm.Data;
using NatEm.Em;
using NatEm.IO;
using NatEm.Training;
using Spectre.Console;

namespace NatEm.Cli.Commands;

/// <summary>`natem em`: the whole EM procedure, resumable.</summary>
public static class EmCommand
{
    public static Command Create()
    {
        var data = SharedOptions.Data();
        var output = SharedOptions.Out("the EM run (each stage, report.md, em.png); RUN/model is the result");
        var binder = new EmOptionsBinder();
        var stage = new Option<string?>("--stage") { Description = "With --shard: the decoding pass to compute a shard of (roundK/distill, roundK/nbest, roundK/scores, final/distill)" };
        var pause = new Option<bool>("--pause-at-passes")
        {
            Description = "Stop (exit 0) on reaching a decoding pass that is not finished, printing 'pending pass: NAME', so that its shards can run "
                + "(--stage NAME --shard i/n); the same command again merges them and goes on",
        };
        var command = new Command("em", "Train AR and NAR models jointly with the EM method (Sun & Yang, 2020); the result is RUN/model")
        {
            data, output, binder.All, stage, binder.Shards.Shard, pause,
        };
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            using var interrupts = new Interrupts();
            var prepared = PreparedData.Load(p.GetValue(data)!);
            var options = binder.Bind(p);
            var runDir = p.GetValue(output)!;
            if (p.GetValue(binder.Shards.Shard) is { } shard)
            {
                var outcome = RunShard(prepared, options, runDir, p.GetValue(stage) ?? throw new NatEmException("--shard needs --stage: the decoding pass it is a shard of", ExitCodes.Usage),
                    shard, p.GetValue(binder.Training.Force), interrupts.Token);
                p.InvocationConfiguration.Output.WriteLine($"{p.GetValue(stage)}: {outcome}");
                return ExitCodes.Ok;
            }
            if (p.GetValue(stage) is { } alone) throw new NatEmException($"--stage {alone} needs --shard i/n; without it, natem em runs every stage", ExitCodes.Usage);
            try
            {
                Run(prepared, options, runDir, binder.Training.ResumeOf(p, runDir), p.GetValue(binder.Training.Force), interrupts.Token, p.GetValue(pause));
            }
            catch (EmPassPending pending)
            {
                p.InvocationConfiguration.Output.WriteLine($"pending pass: {pending.Pass}");
                p.InvocationConfiguration.Error.WriteLine($"natem em: {pending.Message}; run its shards (--stage {pending.Pass} --shard i/n), then this command with --resume");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Runs EM into <paramref name="runDir"/>, which it locks (<see cref="OutputDirectory"/>; <paramref name="force"/>: even if it holds other files);
    /// with <paramref name="pauseAtPasses"/>, stops with <see cref="EmPassPending"/> before a decoding pass that is not finished.
    /// </summary>
    public static EmReport Run(PreparedData prepared, EmOptions options, string runDir, bool resume, bool force, CancellationToken cancel, bool pauseAtPasses = false)
    {
        using var runLock = OutputDirectory.Claim(runDir, EmRun.RunKind, force);
        ConsoleTraining.PrintConfiguration("natem em", new { options, data = prepared.Directory, run = runDir });
        var report = new EmRun(prepared, options, runDir, resume, new ConsoleEmObserver(), cancel) { PauseAtUnfinishedPasses = pauseAtPasses }.Run();
        EmReportWriter.Write(runDir, report);
        Console.WriteLine();
        Console.WriteLine(EmReportWriter.Markdown(report));
        AnsiConsole.MarkupLineInterpolated($"Final NAR model: {report.FinalModel}; AR teacher: {report.FinalTeacher}; report and plot: {Path.Combine(runDir, "report.md")}, {Path.Combine(runDir, "em.png")}");
        return report;
    }

    /// <summary>
    /// Computes shard <paramref name="shard"/> of the pass <paramref name="stageName"/> into <paramref name="runDir"/>. It takes
    /// no lock on the directory, which the other shards and the run share, and writes only its parts there
    /// (<see cref="EmRun.RunShard"/>); the directory must be absent, empty or an EM run (<paramref name="force"/>: anyway).
    /// </summary>
    public static ShardOutcome RunShard(PreparedData prepared, EmOptions options, string runDir, string stageName, Shard shard, bool force, CancellationToken cancel)
    {
        if (!force) OutputDirectory.Check(runDir, EmRun.RunKind);
        var run = EmRun.ForShard(prepared, options, runDir, new ConsoleEmObserver(), cancel);
        return run.RunShard(run.StageNamed(stageName), shard);
    }
}

/// <summary>EM options on the command line (shared by `em` and `demo`).</summary>
/// <param name="defaults">The options that flags not given leave, shown by the help: EM's defaults, or the demo's.</param>
public sealed class EmOptionsBinder(EmOptions defaults)
{
    public EmOptionsBinder() : this(new EmOptions()) { }

    // The E-step's and M-step's training defaults are the same (EmOptions); the help shows the M-step's.
    public readonly TrainingOptionsBinder Training = new(narArchitecture: true, defaults.NarTraining, defaults.Architecture);
    /// <summary>--chunk-size is an EM option (every shard and the run agree on it); `em` alone adds --shard.</summary>
    public readonly ShardOptions Shards = new(defaults.ChunkSize);
    private readonly RecordOptions<EmOptions> _flags = new(defaults)
    {
        { "--iterations", "EM rounds K", o => o.Iterations, (o, v) => o with { Iterations = v } },
        { "--nbest", "AR candidates per source in the selection step (the paper used 20; decoding time grows about linearly with it)", o => o.NBest, (o, v) => o with { NBest = v } },
        { EnumOptions.Create<SelectionScore>("--selection-score", SharedOptions.SelectionScoreDescription),
            o => o.SelectionScore, (o, v) => o with { SelectionScore = v } },
        { "--distill-beam", SharedOptions.DistillBeamDescription, o => o.DistillBeam, (o, v) => o with { DistillBeam = v } },
        { "--warm-start", "Initialize each NAR model from the previous round's", o => o with { WarmStartNar = true } },
        { "--fresh-ar", "Train each E-step AR model from scratch instead of from q_{k-1}", o => o with { WarmStartAr = false } },
        { "--budget-minutes", "Total time budget; training stages share what remains", o => o.BudgetMinutes, (o, v) => o with { BudgetMinutes = v } },
        { SharedOptions.TrainLimit(), o => o.TrainLimit, (o, v) => o with { TrainLimit = v } },
        { "--valid-limit", "Use only the first N validation pairs for per-round BLEU", o => o.ValidLimit, (o, v) => o with { ValidLimit = v } },
    };

    public readonly Option<string?> InitialAr = new("--initial-ar") { Description = "Use this trained AR model directory as q0" };
    public readonly Option<string?> InitialNar = new("--initial-nar") { Description = "Use this NAR model directory, trained on the --initial-ar model's distillation (the KD baseline), as round 1's p1" };
    // A warm-started E-step fine-tunes a converged q_{k-1}: it wants fewer updates and a lower peak rate than a NAR trained afresh.
    public readonly Option<int?> ArMaxUpdates = new("--ar-max-updates") { Description = "Updates of each E-step AR model q_k (default: --max-updates)" };
    public readonly Option<double?> ArLearningRate = new("--ar-lr") { Description = "Peak learning rate of each E-step AR model q_k (default: --lr)" };

    public IEnumerable<Option> All => [.. Training.All, .. _flags, InitialAr, InitialNar, ArMaxUpdates, ArLearningRate, Shards.ChunkSize];

    public void AddTo(Command command) => command.Add(All);

    /// <summary>EM options: <paramref name="baseline"/> (else the defaults) with the flags given set.</summary>
    public EmOptions Bind(ParseResult p, EmOptions? baseline = null)
    {
        var d = baseline ?? defaults;
        var options = _flags.Apply(p, d) with
        {
            Architecture = Training.Architecture(p, d.Architecture),
            ArTraining = ArTraining(p, Training.Bind(p, d.ArTraining)),
            NarTraining = Training.BindNar(p, d.NarTraining),
            ChunkSize = Shards.ChunkSizeOf(p, d.ChunkSize),
        };
        if (p.GetValue(InitialAr) is { } ar) options = options with { InitialAr = ModelArguments.Resolve(p, ar) };
        if (p.GetValue(InitialNar) is { } nar) options = options with { InitialNar = ModelArguments.Resolve(p, nar) };
        options.Validate();
        return options;
    }

    private TrainingOptions ArTraining(ParseResult p, TrainingOptions shared)
    {
        if (p.GetValue(ArMaxUpdates) is <= 0) throw new NatEmException("invalid EM option: --ar-max-updates must be positive", ExitCodes.Usage);
        if (p.GetValue(ArLearningRate) is <= 0) throw new NatEmException("invalid EM option: --ar-lr must be positive", ExitCodes.Usage);
        return shared with { MaxUpdates = p.GetValue(ArMaxUpdates) ?? shared.MaxUpdates, LearningRate = p.GetValue(ArLearningRate) ?? shared.LearningRate };
    }
}
