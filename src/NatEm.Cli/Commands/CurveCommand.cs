using System.CommandLine;
using NatEm.Evaluation;

namespace NatEm.Cli.Commands;

/// <summary>`natem curve`: the validation curves of training runs, as a PNG and a Markdown table.</summary>
public static class CurveCommand
{
    public static Command Create()
    {
        var runs = new Option<string[]>("--run")
        {
            Description = "Run directory (train-ar, train-nar); repeat as --run LABEL=DIR to compare several runs",
            Required = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var output = SharedOptions.Out(TrainingCurve.PlotFile, ".");
        var command = new Command("curve", "Plot validation BLEU and loss of training runs against updates and wall-clock hours; print them as Markdown") { runs, output };
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var curves = p.GetValue(runs)!.Select(value => value.Split('=', 2) is [var label, var dir] && label.Length > 0
                ? TrainingCurve.Read(label, dir)
                : TrainingCurve.Read(Path.GetFileName(Path.TrimEndingDirectorySeparator(value)), value)).ToList();
            var dir = p.GetValue(output)!;
            // Before issue 30, --out named the PNG; such a name now would quietly become a directory.
            if (dir.EndsWith(".png", StringComparison.OrdinalIgnoreCase) && !Directory.Exists(dir))
                throw new NatEmException($"--out {dir}: give the directory to write {TrainingCurve.PlotFile} into, not a PNG file name", ExitCodes.Usage);
            foreach (var curve in curves) p.InvocationConfiguration.Output.WriteLine(curve.ToMarkdown());
            var png = Path.Combine(dir, TrainingCurve.PlotFile);
            TrainingCurve.WritePlot(curves, png);
            p.InvocationConfiguration.Output.WriteLine($"Written: {png}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
