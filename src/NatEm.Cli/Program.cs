using NatEm.Cli;
using NatEm.Modeling;

// First, before libtorch loads: may re-execute this command with tcmalloc preloaded (see NativeAllocator).
NativeAllocator.PreloadTcmalloc();
// Before any matrix product: oneMKL decides its kernels once (see MklOnAmd).
MklOnAmd.Apply();
return NatEmCommandLine.Run(args);
