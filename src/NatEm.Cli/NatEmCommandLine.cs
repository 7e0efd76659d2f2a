using System.CommandLine;
using System.Globalization;
using System.CommandLine.Invocation;
using NatEm.Cli.Commands;

namespace NatEm.Cli;

/// <summary>
/// The `natem` command line: builds the command tree, turns parse errors into one usage line (exit 2) and runs the
/// chosen command. Program.cs and the tests go through <see cref="Run"/>, so both see the same exit codes.
/// </summary>
public static class NatEmCommandLine
{
    public static int Run(string[] args, InvocationConfiguration? configuration = null)
    {
        configuration ??= new InvocationConfiguration();
        // Output (numbers in logs, tables and reports) looks the same whatever the user's locale.
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Spectre.Console.AnsiConsole.Console.Unwrapped();
        var verbose = new Option<bool>("--verbose") { Description = "Print stack traces on errors", Recursive = true };
        var root = new RootCommand("NatEm: non-autoregressive translation trained with the EM method of Sun & Yang (ICML 2020)") { verbose };
        foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
        NumberOptions.ApplyTo(root);

        var parse = root.Parse(args);
        CliErrors.Verbose = parse.GetValue(verbose);
        if (parse.Action is ParseErrorAction)
        {
            // One line, not the whole help: the help is a command away.
            var commandPath = string.Join(' ', parse.CommandResult.RecurseWhileNotNull(r => r.Parent as System.CommandLine.Parsing.CommandResult)
                .Select(r => r.Command == root ? "natem" : r.Command.Name).Reverse());
            CliErrors.Print(configuration.Error, $"{string.Join("; ", parse.Errors.Select(e => e.Message))} (see '{commandPath} --help')");
            return ExitCodes.Usage;
        }
        return parse.Invoke(configuration);
    }

    private static IEnumerable<T> RecurseWhileNotNull<T>(this T start, Func<T, T?> next) where T : class
    {
        for (T? current = start; current is not null; current = next(current)) yield return current;
    }
}
