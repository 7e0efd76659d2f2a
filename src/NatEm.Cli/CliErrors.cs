using NatEm;

namespace NatEm.Cli;

/// <summary>Runs a command body so that user errors become one line on stderr and a documented exit code.</summary>
public static class CliErrors
{
    /// <summary>Set by the global --verbose option: print stack traces.</summary>
    public static bool Verbose { get; set; }

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (NatEmException e)
        {
            Console.Error.WriteLine($"natem: error: {e.Message}");
            if (Verbose) Console.Error.WriteLine(e);
            return e.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("natem: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (!Verbose)
        {
            Console.Error.WriteLine($"natem: internal error: {e.GetType().Name}: {e.Message} (rerun with --verbose for details)");
            return ExitCodes.InternalError;
        }
    }
}
