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
        var data = new Option<string>("--data") { Description = "Prepared data directory (natem prepare)", Required = true };
        var output = new Option<string>("--out") { Description = "EM run directory", Required = true };
        var binder = new EmOptionsBinder();
        var stage = new Option<string?>("--stage") { Description = "With --shard: the decoding pass to compute a shard of (roundK/distill, roundK/nbest, roundK/scores, final/distill)" };
        var command = new Command("em", "Train AR and NAR models jointly with the EM method (Sun & Yang, 2020); the result is RUN/model");
        command.Options.Add(data);
        command.Options.Add(output);
        binder.AddTo(command);
        command.Options.Add(stage);
        command.Options.Add(binder.Shards.Shard);
        var pause = new Option<bool>("--pause-at-passes")
        {
            Description = "Stop (exit 0) on reaching a decoding pass that is not finished, printing 'pending pass: NAME', so that its shards can run "
                + "(--stage NAME --shard i/n); the same command again merges them and goes on",
        };
        command.Options.Add(pause);
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
public sealed class EmOptionsBinder
{
    private static readonly EmOptions Defaults = new();
    public readonly TrainingOptionsBinder Training = new(narArchitecture: true);
    /// <summary>--chunk-size is an EM option (every shard and the run agree on it); `em` alone adds --shard.</summary>
    public readonly ShardOptions Shards = new();
    public readonly Option<int?> Iterations = new("--iterations") { Description = $"EM rounds K (default {Defaults.Iterations})" };
    public readonly Option<int?> NBest = new("--nbest") { Description = $"AR candidates per source in the selection step (default {Defaults.NBest}; the paper used 20; decoding time grows about linearly with it)" };
    public readonly Option<SelectionScore?> SelectionScore = EnumOptions.Create<SelectionScore>("--selection-score",
        $"Selection criterion: Total (log p_NAR(y|x), the paper's) or PerToken (divided by |y|+1, no bias toward short candidates) (default {Defaults.SelectionScore})");
    public readonly Option<int?> DistillBeam = new("--distill-beam") { Description = $"Beam of the distillation pass (default {Defaults.DistillBeam})" };
    public readonly Option<bool> WarmStartNar = new("--warm-start") { Description = "Initialize each NAR model from the previous round's" };
    public readonly Option<bool> FreshAr = new("--fresh-ar") { Description = "Train each E-step AR model from scratch instead of from q_{k-1}" };
    public readonly Option<double?> Budget = new("--budget-minutes") { Description = "Total time budget; training stages share what remains" };
    public readonly Option<int?> TrainLimit = new("--train-limit") { Description = "Use only the first N training pairs" };
    public readonly Option<int?> ValidLimit = new("--valid-limit") { Description = "Use only the first N validation pairs for per-round BLEU" };
    public readonly Option<string?> InitialAr = new("--initial-ar") { Description = "Use this trained AR model directory as q0" };
    public readonly Option<string?> InitialNar = new("--initial-nar") { Description = "Use this NAR model directory, trained on the --initial-ar model's distillation (the KD baseline), as round 1's p1" };
    // A warm-started E-step fine-tunes a converged q_{k-1}: it wants fewer updates and a lower peak rate than a NAR trained afresh.
    public readonly Option<int?> ArMaxUpdates = new("--ar-max-updates") { Description = "Updates of each E-step AR model q_k (default: --max-updates)" };
    public readonly Option<double?> ArLearningRate = new("--ar-lr") { Description = "Peak learning rate of each E-step AR model q_k (default: --lr)" };

    public void AddTo(Command command)
    {
        Training.AddTo(command);
        foreach (var option in new Option[] { Iterations, NBest, SelectionScore, DistillBeam, WarmStartNar, FreshAr, Budget, TrainLimit, ValidLimit, InitialAr, InitialNar, ArMaxUpdates, ArLearningRate, Shards.ChunkSize })
            command.Options.Add(option);
    }

    public EmOptions Bind(ParseResult p, EmOptions? baseline = null)
    {
        var d = baseline ?? Defaults;
        var options = d with
        {
            Iterations = p.GetValue(Iterations) ?? d.Iterations,
            NBest = p.GetValue(NBest) ?? d.NBest,
            SelectionScore = p.GetValue(SelectionScore) ?? d.SelectionScore,
            DistillBeam = p.GetValue(DistillBeam) ?? d.DistillBeam,
            WarmStartNar = p.GetValue(WarmStartNar) || d.WarmStartNar,
            WarmStartAr = !p.GetValue(FreshAr) && d.WarmStartAr,
            Architecture = Training.Architecture(p, d.Architecture),
            ArTraining = ArTraining(p, Training.Bind(p, d.ArTraining)),
            NarTraining = Training.BindNar(p, d.NarTraining),
            BudgetMinutes = p.GetValue(Budget) ?? d.BudgetMinutes,
            TrainLimit = p.GetValue(TrainLimit) ?? d.TrainLimit,
            ValidLimit = p.GetValue(ValidLimit) ?? d.ValidLimit,
            ChunkSize = p.GetValue(Shards.ChunkSize) ?? d.ChunkSize,
            InitialAr = ModelArguments.ResolveOptional(p, p.GetValue(InitialAr)) ?? d.InitialAr,
            InitialNar = ModelArguments.ResolveOptional(p, p.GetValue(InitialNar)) ?? d.InitialNar,
        };
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
