using System.CommandLine;
using NatEm.Training;

namespace NatEm.Cli.Commands;

/// <summary>`natem average`: fairseq's average_checkpoints, writing a model directory that translate and eval load.</summary>
public static class AverageCommand
{
    public static Command Create()
    {
        var run = new Option<string?>("--run") { Description = "Run directory (train-ar, train-nar) whose numbered checkpoints to average; use with --last" };
        var last = new Option<int?>("--last") { Description = "Average the newest N numbered checkpoints of --run" };
        var inputs = new Option<string[]>("--inputs") { Description = "Checkpoint directories to average (instead of --run/--last)", AllowMultipleArgumentsPerToken = true };
        var output = SharedOptions.Out("the new model directory (it must not exist)");
        var dtype = ExportCommand.DtypeOption();
        var command = new Command("average", "Average the weights of the last N checkpoints of a run (or of given checkpoints) into a new model directory") { run, last, inputs, output, dtype };

        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var runDir = p.GetValue(run);
            var lastCount = p.GetValue(last);
            var given = p.GetValue(inputs) ?? [];
            bool fromInputs = given.Length > 0, fromRun = runDir is not null || lastCount is not null;
            if (fromInputs == fromRun || fromRun && (runDir is null || lastCount is null))
                throw new NatEmException("give either --run with --last, or --inputs", ExitCodes.Usage);
            var checkpoints = fromInputs ? given : CheckpointAveraging.LastNumbered(runDir!, lastCount!.Value);
            var outputDir = p.GetValue(output)!;
            CheckpointAveraging.Average(checkpoints, outputDir, ExportCommand.Dtype(p, dtype));
            p.InvocationConfiguration.Output.WriteLine($"averaged {checkpoints.Count} checkpoints into {outputDir}: {string.Join(", ", checkpoints.Select(Path.GetFileName))}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
