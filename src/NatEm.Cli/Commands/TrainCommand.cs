using System.CommandLine;
using System.Text.Json.Nodes;
using NatEm.Data;
using NatEm.Evaluation;
using NatEm.IO;
using NatEm.Modeling;
using NatEm.Training;

namespace NatEm.Cli.Commands;

/// <summary>`natem train-ar` and `natem train-nar`: one trainer, two models.</summary>
public static class TrainCommand
{
    public static Command Create(ModelKind kind)
    {
        bool nar = kind == ModelKind.NonAutoregressive;
        var data = SharedOptions.Data();
        var output = SharedOptions.Out("the run (checkpoints, logs; checkpoint_best is the model)");
        var training = new TrainingOptionsBinder(narArchitecture: nar);
        var command = new Command(nar ? "train-nar" : "train-ar", nar
            ? "Train a non-autoregressive Transformer on real targets, given targets or AR-distilled targets"
            : "Train an autoregressive Transformer (the teacher / E-step model)");
        var trainLimit = SharedOptions.TrainLimit();
        var initFrom = new Option<string>("--init-from")
        {
            Description = "Start from this model directory's weights and architecture (--dropout, if given, still applies), with a fresh optimizer and schedule (fairseq --finetune-from-model)",
        };
        var continueFrom = new Option<string>("--continue-from")
        {
            Description = "Continue the run that saved this model directory (a checkpoint or its export) from its training.update, with its weights, "
                + "schedules and batch order and only the optimizer fresh (fairseq --restore-file --reset-optimizer); options but --threads, --precision, "
                + "--validate-every, --log-every, --keep-last, --best-metric, --patience and --max-minutes must be its recorded training.options; with --resume, a run in --out that has checkpoints resumes from them",
        };
        command.Add([data, output, trainLimit, initFrom, continueFrom, .. training.All]);

        var targets = new Option<string>("--targets") { Description = "Training targets, one per line (replaces the data's targets)" };
        var distillFrom = new Option<string>("--distill-from") { Description = "AR model directory: train on its beam-search translations of the training sources (cached in --out)" };
        var distillBeam = new Option<int>("--distill-beam") { Description = SharedOptions.DistillBeamDescription, DefaultValueFactory = _ => new NarTargets().DistillBeam };
        var narOnly = new RecordOptions<TrainingOptions>(new())
        {
            { "--length-loss-weight", "Weight of the length loss", o => o.LengthLossWeight, (o, v) => o with { LengthLossWeight = v } },
        };
        var shards = new ShardOptions(new NarTargets().ChunkSize);
        if (nar) command.Add([targets, distillFrom, distillBeam, .. narOnly, shards.Shard, shards.ChunkSize]);

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            using var interrupts = new Interrupts();
            var prepared = PreparedData.Load(p.GetValue(data)!);
            var options = nar ? training.BindNar(p, narOnly.Apply(p, new TrainingOptions())) : training.Bind(p);
            // With --resume and checkpoints in --out, the milestone only gives the architecture, as --init-from's model does.
            if (p.GetValue(continueFrom) is not null && p.GetValue(initFrom) is not null)
                throw new NatEmException("--continue-from and --init-from exclude each other: one model starts the run", ExitCodes.Usage);
            var initial = (p.GetValue(initFrom), p.GetValue(continueFrom)) switch
            {
                ({ } initDir, _) => InitialModel.FineTune(ModelArguments.Resolve(p, initDir), kind, prepared, training.Architecture(p)),
                (_, { } milestone) => InitialModel.Continue(ModelArguments.Resolve(p, milestone), kind, prepared, training.Architecture(p)),
                _ => new InitialModel(kind, training.Architecture(p).Resolve(kind, prepared.Tokenizer.VocabSize)),
            };
            var runDir = p.GetValue(output)!;
            var train = prepared.Split("train");
            if (p.GetValue(trainLimit) is { } limit)
                train = limit > 0 ? train.Take(limit) : throw new NatEmException("--train-limit must be positive", ExitCodes.Usage);
            var narTargets = new NarTargets
            {
                File = p.GetValue(targets), DistillFrom = ModelArguments.ResolveOptional(p, p.GetValue(distillFrom)), DistillBeam = p.GetValue(distillBeam),
                ChunkSize = shards.ChunkSizeOf(p),
            };
            if (nar && p.GetValue(shards.Shard) is { } shard)
            {
                // A shard shares --out with the other shards and the run: no lock; it writes only its parts of RUN/distill.
                if (!p.GetValue(training.Force)) OutputDirectory.Check(runDir, CheckpointDirectory.RunKind);
                var outcome = narTargets.DistillShard(prepared, train, options.Precision, runDir, shard, ConsoleStages.Run, interrupts.Token);
                p.InvocationConfiguration.Output.WriteLine($"{NarTargets.DistillFolder}: {outcome}");
                return ExitCodes.Ok;
            }
            var resume = training.ResumeOf(p, runDir);
            using var runLock = OutputDirectory.Claim(runDir, CheckpointDirectory.RunKind, p.GetValue(training.Force));
            var trainTargets = nar ? narTargets.Resolve(prepared, train, options.Precision, runDir, ConsoleStages.Run, interrupts.Token) : train.Target;

            ConsoleTraining.PrintConfiguration($"natem {command.Name}", new { kind, config = initial.Config, options,
                continueFrom = initial.Continues is { } m ? new { directory = m.Directory, update = m.Update, optimizer = "fresh" } : null, data = prepared.Directory, run = runDir, allocator = NativeAllocator.Current,
                // What Program.cs's start-up patch did, before any matrix product.
                mklVendorCheck = MklOnAmd.Applied?.ToString() ?? "not applied" });
            var valid = prepared.Split("valid");
            var job = new TrainingJob(initial, options, runDir, prepared, new ParallelExamples(train.Source, trainTargets), ParallelExamples.Of(valid),
                new JsonObject { ["command"] = command.Name }, m => ValidationBleu.Score(m, prepared.Tokenizer, valid, progress: ConsoleTraining.ValidationProgress));
            // Only a terminal gets live bars; captured output (a test, an embedding program) gets plain lines.
            var progressOutput = p.InvocationConfiguration.Output == Console.Out ? null : p.InvocationConfiguration.Output;
            var errors = p.InvocationConfiguration.Error;
            ConsoleTraining.Run(command.Name, job.SkippedExamplesWarning,
                progress => job.Run(resume, progress, interrupts.Token, notice: line => errors.WriteLine($"natem: warning: {command.Name}: {line}")), progressOutput);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
