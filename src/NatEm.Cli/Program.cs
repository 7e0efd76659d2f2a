using NatEm.Cli;

return NatEmCommandLine.Run(args);
