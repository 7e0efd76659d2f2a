using System.CommandLine;
using NatEm;

namespace NatEm.Cli;

/// <summary>Runs a command body so that user errors become one line on stderr and a documented exit code.</summary>
public static class CliErrors
{
    /// <summary>Set by the global --verbose option: print stack traces.</summary>
    public static bool Verbose { get; set; }

    /// <summary>Errors go to the invocation's error writer: stderr, or what a test captures.</summary>
    public static int Run(ParseResult parse, Func<int> body) => Run(parse.InvocationConfiguration.Error, body);

    private static int Run(TextWriter errors, Func<int> body)
    {
        try
        {
            try
            {
                return body();
            }
            catch (AggregateException e) when (e.Flatten().InnerExceptions is { Count: > 0 } inner)
            {
                // Parallel loops wrap what their workers throw: report the first user error or I/O failure (a full disk) as itself.
                throw inner.FirstOrDefault(x => x is NatEmException) ?? inner.FirstOrDefault(x => x is IOException or UnauthorizedAccessException) ?? inner[0];
            }
        }
        catch (NatEmException e)
        {
            Print(errors, e.Message);
            if (Verbose) errors.WriteLine(e);
            return e.ExitCode;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The messages of these exceptions name the path (e.g. "Access to the path '/proc/x' is denied.").
            Print(errors, e.Message);
            if (Verbose) errors.WriteLine(e);
            return ExitCodes.Environment;
        }
        catch (OperationCanceledException)
        {
            errors.WriteLine("natem: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception e) when (!Verbose)
        {
            errors.WriteLine($"natem: internal error: {NatEmException.OneLine($"{e.GetType().Name}: {e.Message}")} (rerun with --verbose for details)");
            return ExitCodes.InternalError;
        }
    }

    /// <summary>Every error line of natem is printed here: "natem: error: MESSAGE", with control characters escaped.</summary>
    public static void Print(TextWriter errors, string message) => errors.WriteLine($"natem: error: {NatEmException.OneLine(message)}");
}
