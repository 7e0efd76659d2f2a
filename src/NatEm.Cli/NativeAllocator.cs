using System.Runtime.InteropServices;

namespace NatEm.Cli;

/// <summary>
/// libtorch allocates every activation and gradient with the C allocator. glibc's returns large blocks to the kernel
/// when they are freed, so each training step page-faults and zeroes its tensors anew (a fifth of a bf16 `small` step
/// in `perf`); tcmalloc keeps and reuses them, as PyTorch's CPU performance guide recommends. When tcmalloc is
/// installed (Debian: libtcmalloc-minimal4) and not yet loaded, the process replaces itself (execve: same pid, same
/// standard streams) with the same command, tcmalloc preloaded. Numerics do not change. Set
/// <c>NATEM_ALLOCATOR=system</c> to keep the C library's allocator.
/// </summary>
public static class NativeAllocator
{
    public const string Variable = "NATEM_ALLOCATOR";
    private static readonly string[] TcmallocPaths =
    [
        "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
        "/usr/lib64/libtcmalloc_minimal.so.4", "/usr/lib/libtcmalloc_minimal.so.4",
    ];

    /// <summary>The installed tcmalloc library, or null.</summary>
    public static string? TcmallocLibrary => TcmallocPaths.FirstOrDefault(File.Exists);

    /// <summary>The allocator this process runs with: "tcmalloc" when preloaded, else "system".</summary>
    public static string Current =>
        (Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "").Contains("tcmalloc", StringComparison.Ordinal) ? "tcmalloc" : "system";

    /// <summary>Re-executes the process with tcmalloc preloaded where that applies; returns only when it does not (or cannot).</summary>
    public static void PreloadTcmalloc()
    {
        if (!OperatingSystem.IsLinux() || Current == "tcmalloc") return;
        if (string.Equals(Environment.GetEnvironmentVariable(Variable), "system", StringComparison.OrdinalIgnoreCase)) return;
        if (TcmallocLibrary is not { } library || Environment.ProcessPath is not { } host) return;

        // `dotnet NatEm.Cli.dll …` runs the muxer, whose first argument is the assembly; the apphost takes the arguments alone.
        var arguments = Environment.GetCommandLineArgs();
        var muxer = Path.GetFileNameWithoutExtension(host) == "dotnet";
        string?[] argv = [host, .. muxer ? arguments : arguments.Skip(1), null];
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") is { Length: > 0 } existing ? $"{library}:{existing}" : library;
        string?[] environment =
        [
            .. Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Where(e => (string)e.Key != "LD_PRELOAD").Select(e => $"{e.Key}={e.Value}"),
            $"LD_PRELOAD={preload}", null,
        ];
        // execve returns only on failure: then carry on with the system allocator.
        try { Execve(host, argv, environment); }
        catch (Exception e) when (e is MarshalDirectiveException or EntryPointNotFoundException or DllNotFoundException) { }
    }

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int Execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);
}
