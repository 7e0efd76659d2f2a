using System.Diagnostics;
using NatEm.Decoding;
using TorchSharp;
using static TorchSharp.torch;

namespace NatEm.Evaluation;

/// <summary>Sizes of the start-up speed probes.</summary>
public sealed record MachineSpeedOptions
{
    /// <summary>Side of the square fp32 matrices multiplied (1024: 2.1 GFLOP a product, far beyond cache).</summary>
    public int MatrixSize { get; init; } = 1024;
    /// <summary>Elements of the fp32 tensor copied (16M: 64 MB, larger than any last-level cache).</summary>
    public long CopyElements { get; init; } = 16L << 20;
    /// <summary>Timed repetitions of each probe; the fastest counts (after one untimed run).</summary>
    public int Repeats { get; init; } = 5;
}

/// <summary>This machine's libtorch matrix-product rate and memory bandwidth at the current thread count.</summary>
public sealed record MachineSpeed(double MatmulGflops, double CopyGigabytesPerSecond)
{
    /// <summary>
    /// The floor: the time <paramref name="work"/> needs at least on this machine, if it either computes at the full
    /// matrix-product rate or streams its bytes at the full copy bandwidth, whichever binds.
    /// </summary>
    public double FloorSeconds(WorkCost work) =>
        Math.Max(work.Flops / (MatmulGflops * 1e9), work.Bytes / (CopyGigabytesPerSecond * 1e9));

    public static MachineSpeed Measure(MachineSpeedOptions? options = null)
    {
        options ??= new MachineSpeedOptions();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = options.MatrixSize;
        var a = randn(n, n);
        var b = randn(n, n);
        double matmulSeconds = Fastest(options.Repeats, () => a.matmul(b));

        var source = randn(options.CopyElements);
        var destination = empty(options.CopyElements);
        double copySeconds = Fastest(options.Repeats, () => destination.copy_(source));

        // A copy reads and writes every byte once.
        double copiedBytes = 2.0 * options.CopyElements * sizeof(float);
        return new MachineSpeed(2.0 * n * n * n / matmulSeconds / 1e9, copiedBytes / copySeconds / 1e9);
    }

    private static double Fastest(int repeats, Func<Tensor> probe)
    {
        double best = double.MaxValue;
        for (int i = -1; i < repeats; i++) // run -1 is the untimed warm-up
        {
            using var scope = torch.NewDisposeScope();
            var watch = Stopwatch.StartNew();
            probe();
            if (i >= 0) best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
