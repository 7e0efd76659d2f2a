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
        var output = new Option<string>("--out") { Description = "PNG to write", DefaultValueFactory = _ => "curve.png" };
        var command = new Command("curve", "Plot validation BLEU and loss of training runs against updates and wall-clock hours; print them as Markdown");
        command.Options.Add(runs);
        command.Options.Add(output);
        command.SetAction(p => CliErrors.Run(p, () =>
        {
            var curves = p.GetValue(runs)!.Select(value => value.Split('=', 2) is [var label, var dir] && label.Length > 0
                ? TrainingCurve.Read(label, dir)
                : TrainingCurve.Read(Path.GetFileName(Path.TrimEndingDirectorySeparator(value)), value)).ToList();
            foreach (var curve in curves) p.InvocationConfiguration.Output.WriteLine(curve.ToMarkdown());
            TrainingCurve.WritePlot(curves, p.GetValue(output)!);
            p.InvocationConfiguration.Output.WriteLine($"Written: {p.GetValue(output)}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
