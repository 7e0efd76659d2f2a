using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>Resolving --precision values: the machine's default, and a one-time warning about a precision this CPU runs slowly.</summary>
public static class PrecisionOption
{
    private static int warned;

    /// <summary>A comma-separated list of precisions (bench commands), each resolved as by <see cref="Resolve"/>, without repeats.</summary>
    public static List<Precision> ParseList(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries).Select(item => Resolve(EnumOptions.Parse<Precision>("--precision", item))).Distinct().ToList();

    /// <summary>The given precision or the machine's default, warning once per process about one this CPU runs slowly.</summary>
    public static Precision Resolve(Precision? given)
    {
        var precision = given ?? Precisions.MachineDefault;
        if (Precisions.SlownessWarning(precision) is { } warning && Interlocked.Exchange(ref warned, 1) == 0)
            Console.Error.WriteLine($"natem: warning: --precision {precision}: {warning}");
        return precision;
    }
}
