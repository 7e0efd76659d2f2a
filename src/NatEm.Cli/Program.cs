using NatEm.Cli;
using NatEm.Modeling;

// Before any matrix product: oneMKL decides its kernels once (see MklOnAmd).
MklOnAmd.Apply();
return NatEmCommandLine.Run(args);
