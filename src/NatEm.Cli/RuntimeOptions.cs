using System.CommandLine;
using NatEm.Modeling;
using TorchSharp;

namespace NatEm.Cli;

/// <summary>How a command runs on this machine: libtorch threads and the compute precision. Null means the default.</summary>
public sealed record RuntimeOptions
{
    /// <summary>libtorch threads; null = all cores (<see cref="AllCores"/>).</summary>
    public int? Threads { get; init; }
    /// <summary>Compute dtype of linear layers and attention; null = <see cref="Precisions.MachineDefault"/>.</summary>
    public Precision? Precision { get; init; }

    public static int AllCores => TorchThreads.AllCores;
    /// <summary>The most --threads accepted (<see cref="TorchThreads.Max"/>).</summary>
    public static int MaxThreads => TorchThreads.Max;
    public int ResolvedThreads => Threads ?? AllCores;
    public Precision ResolvedPrecision => Precision ?? Precisions.MachineDefault;

    public void Validate()
    {
        if (Threads is { } threads) TorchThreads.Validate(threads, "--threads");
    }
}

/// <summary>
/// --threads and --precision, declared and bound here for every command that runs a model. (--verbose is the root
/// command's, for every command.) Commands that compare several precisions (bench) declare their own list instead.
/// </summary>
public sealed class RuntimeOptionsBinder(bool withPrecision = true)
{
    private static readonly RuntimeOptions Defaults = new();

    public readonly Option<int?> Threads = new("--threads") { Description = $"libtorch threads (default: all cores, here {Defaults.ResolvedThreads})" };
    public readonly Option<Precision?> Precision = EnumOptions.Create<Precision>("--precision",
        "Compute dtype of linear layers and attention; training keeps weights, optimizer state and checkpoints in fp32, decoding casts the weights once at load "
        + $"(default: Bf16 where the CPU has avx512_bf16 or amx_bf16, else Fp32; here {Defaults.ResolvedPrecision})");

    public IEnumerable<Option> All => withPrecision ? [Threads, Precision] : [Threads];

    /// <summary>The options given, validated, with libtorch set to the chosen thread count (and a one-time warning about a precision this CPU runs slowly).</summary>
    public RuntimeOptions Bind(ParseResult p)
    {
        var options = new RuntimeOptions
        {
            Threads = p.GetValue(Threads),
            Precision = withPrecision && p.GetValue(Precision) is { } given ? PrecisionOption.Resolve(given) : null,
        };
        options.Validate();
        torch.set_num_threads(options.ResolvedThreads);
        return options;
    }
}
