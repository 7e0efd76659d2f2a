using System.CommandLine;
using NatEm.Cli;
using NatEm.Cli.Commands;

var verbose = new Option<bool>("--verbose") { Description = "Print stack traces on errors", Recursive = true };
var root = new RootCommand("NatEm: non-autoregressive translation trained with the EM method of Sun & Yang (ICML 2020)")
{
    verbose,
};
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);

var parse = root.Parse(args);
CliErrors.Verbose = parse.GetValue(verbose);
return parse.Invoke();
