using NatEm.Modeling;

namespace NatEm.Cli;

/// <summary>Warns once per process when the chosen precision is one this CPU runs slowly (bf16 without native support).</summary>
public static class PrecisionWarning
{
    private static int warned;

    public static void Once(Precision precision)
    {
        if (Precisions.SlownessWarning(precision) is { } warning && Interlocked.Exchange(ref warned, 1) == 0)
            Console.Error.WriteLine($"natem: warning: --precision {precision}: {warning}");
    }
}
