// fp32 against bf16 matrix products at the shapes of `small` training, and the cost of casting an activation to bf16
// (bench/log/2026-12-01-avx512-bf16-machine.md). Usage: dotnet run -c Release [-- THREADS]; run with the machine quiet.
using System.Diagnostics;
using NatEm.Modeling;
using TorchSharp;
using static TorchSharp.torch;

Console.WriteLine($"oneMKL vendor check: {MklOnAmd.Apply()}; native bf16: {Precisions.HasNativeBf16}");
torch.set_num_threads(args.Length > 0 ? int.Parse(args[0]) : 2);

static double SecondsPerCall(Action action, int calls)
{
    for (int i = 0; i < 3; i++) action();
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < calls; i++) action();
    return clock.Elapsed.TotalSeconds / calls;
}

foreach (var (m, k, n) in new[] { (1024, 1024, 1024), (4096, 256, 1024), (4096, 1024, 256), (4096, 256, 768), (4096, 256, 8092), (64, 256, 256) })
{
    var line = $"{m}x{k}x{n}:";
    foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
    {
        var a = randn(m, k).to_type(dtype);
        var b = randn(k, n).to_type(dtype);
        double flops = 2.0 * m * k * n;
        double seconds = SecondsPerCall(() => { using var scope = NewDisposeScope(); a.matmul(b); }, Math.Max(3, (int)(4e10 / flops)));
        line += $" {dtype} {flops / seconds / 1e9:F0} GFLOP/s";
    }
    var activation = randn(m, n);
    double cast = SecondsPerCall(() => { using var scope = NewDisposeScope(); activation.to_type(ScalarType.BFloat16); }, 50);
    Console.WriteLine($"{line}; cast {m}x{n} fp32->bf16 {cast * 1e3:F2} ms");
}
