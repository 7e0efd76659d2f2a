using System.Runtime.InteropServices;
using NatEm.Modeling;
using static TorchSharp.torch;

namespace NatEm.Tests.Modeling;

public class MklOnAmdTests
{
    private static bool IsAmdX64Linux => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
        && File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("vendor_id", StringComparison.Ordinal) && l.EndsWith("AuthenticAMD", StringComparison.Ordinal));

    [Fact]
    public void OnAmdOneMklIsToldItRunsOnIntelAndMatmulsStayExact()
    {
        var outcome = MklOnAmd.Apply();
        if (!IsAmdX64Linux)
        {
            Assert.Equal(MklOnAmd.Outcome.NotAmd, outcome);
            return;
        }
        // As the code reads it: in any case. (A fresh process patched at start-up: NativeAllocatorTests.)
        if (string.Equals(Environment.GetEnvironmentVariable(MklOnAmd.OptOutVariable), "keep", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Equal(MklOnAmd.Outcome.OptedOut, outcome);
            return;
        }
        Assert.Contains(outcome, new[] { MklOnAmd.Outcome.Patched, MklOnAmd.Outcome.AlreadyPatched });
        Assert.Equal(1, MklOnAmd.VendorCheckAnswer());
        Assert.Equal(outcome, MklOnAmd.Apply()); // once per process

        // The kernels oneMKL now picks compute the same products (to fp32 rounding) as a float64 reference.
        using var scope = NewDisposeScope();
        manual_seed(3);
        var a = randn(200, 256);
        var b = randn(256, 1000);
        var error = (a.matmul(b).to_type(ScalarType.Float64) - a.to_type(ScalarType.Float64).matmul(b.to_type(ScalarType.Float64))).abs().max().item<double>();
        Assert.InRange(error, 0, 1e-3);
    }
}
