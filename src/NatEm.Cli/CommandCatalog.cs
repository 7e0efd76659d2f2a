using System.CommandLine;

namespace NatEm.Cli.Commands;

/// <summary>Every `natem` subcommand, in the order `natem --help` lists them.</summary>
public static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        DemoCommand.Create(),
        PrepareCommand.Create(),
        TrainCommand.Create(NatEm.Modeling.ModelKind.Autoregressive),
        TrainCommand.Create(NatEm.Modeling.ModelKind.NonAutoregressive),
        EmCommand.Create(),
        TranslateCommand.Create(),
        EvalCommand.Create(),
        ScoreCommand.Create(),
        ScoreNarCommand.Create(),
        AverageCommand.Create(),
        ExportCommand.Create(),
        CurveCommand.Create(),
        BenchCommand.Create(),
        ServeCommand.Create(),
        LoadtestCommand.Create(),
    ];
}
