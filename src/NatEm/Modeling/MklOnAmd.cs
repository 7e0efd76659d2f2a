using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Modeling;

/// <summary>
/// libtorch's fp32 matmuls run in the oneMKL it links statically, and oneMKL chooses its fastest GEMM kernels only
/// for CPUs whose vendor is Intel: on AMD Zen it falls back to slower code paths even though the CPU has the same
/// AVX2/FMA instructions. oneMKL asks one function, <c>mkl_serv_intel_cpu_true</c>, exported by libtorch_cpu; making
/// it answer 1 is the well-known workaround (Agner Fog's MKL dispatch patch; MKL_DEBUG_CPU_TYPE=5 before MKL 2020.1).
/// oneMKL still reads the CPU's feature flags, so it never picks instructions the CPU lacks. Measured on a 2-core
/// Zen 3 (bench/log/2026-11-30-onemkl-vendor-check.md): AR training 1.29x faster. Set <c>NATEM_MKL_VENDOR_CHECK=keep</c> to leave oneMKL as it is.
/// </summary>
public static class MklOnAmd
{
    public const string OptOutVariable = "NATEM_MKL_VENDOR_CHECK";
    private const string Export = "mkl_serv_intel_cpu_true";

    /// <summary>What <see cref="Apply"/> did, for run headers and tests.</summary>
    public enum Outcome { NotAmd, OptedOut, Patched, AlreadyPatched, Unavailable }

    private static Outcome? applied;
    private static readonly Lock Gate = new();

    /// <summary>
    /// Patches oneMKL's vendor check on an AMD x64 Linux CPU. Call before the first matrix product of the process:
    /// oneMKL may cache the answer. Never throws; anything unexpected leaves libtorch untouched.
    /// </summary>
    public static Outcome Apply()
    {
        lock (Gate)
        {
            return applied ??= TryPatch();
        }
    }

    private static Outcome TryPatch()
    {
        if (CpuInfo.Field("vendor_id") != "AuthenticAMD") return Outcome.NotAmd;
        if (string.Equals(Environment.GetEnvironmentVariable(OptOutVariable), "keep", StringComparison.OrdinalIgnoreCase)) return Outcome.OptedOut;
        try
        {
            return VendorCheck() is { } function ? WriteReturnOne(function) : Outcome.Unavailable;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return Outcome.Unavailable;
        }
    }

    /// <summary>What <see cref="Apply"/> did in this process, or null if it has not run (for run headers: the CLI applies it at start-up).</summary>
    public static Outcome? Applied
    {
        get
        {
            lock (Gate) return applied;
        }
    }

    /// <summary>The answer oneMKL now gets from its vendor check (for tests): 1 once patched.</summary>
    public static int VendorCheckAnswer() =>
        Marshal.GetDelegateForFunctionPointer<IntFunction>(VendorCheck() ?? throw new InvalidOperationException($"libtorch_cpu has no {Export}"))();

    /// <summary>The address of oneMKL's vendor check in libtorch_cpu, loading libtorch first (no matrix product runs).</summary>
    private static nint? VendorCheck()
    {
        InitializeDeviceType(DeviceType.CPU);
        return NativeLibrary.TryLoad("libtorch_cpu.so", out var library) && NativeLibrary.TryGetExport(library, Export, out var function) ? function : null;
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int IntFunction();

    // x86-64: mov eax, 1; ret
    private static readonly byte[] ReturnOne = [0xB8, 0x01, 0x00, 0x00, 0x00, 0xC3];

    private static Outcome WriteReturnOne(nint function)
    {
        var code = new byte[ReturnOne.Length];
        Marshal.Copy(function, code, 0, code.Length);
        if (code.AsSpan().SequenceEqual(ReturnOne)) return Outcome.AlreadyPatched;
        long pageSize = Environment.SystemPageSize;
        var pageStart = function & ~(nint)(pageSize - 1);
        var length = (nuint)(function + ReturnOne.Length - pageStart);
        if (MProtect(pageStart, length, ProtRead | ProtWrite | ProtExec) != 0) return Outcome.Unavailable;
        Marshal.Copy(ReturnOne, 0, function, ReturnOne.Length);
        MProtect(pageStart, length, ProtRead | ProtExec);
        return Outcome.Patched;
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;

    [DllImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static extern int MProtect(nint address, nuint length, int protection);
}
