using System.Runtime.InteropServices;

namespace NatEm.Cli;

/// <summary>
/// Turns the first SIGINT/SIGTERM into a cancellation request, so long jobs can save a resumable checkpoint
/// and exit with <see cref="ExitCodes.Interrupted"/>; a second signal terminates at once.
/// </summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration[] registrations;

    public Interrupts()
    {
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => source.Token;

    private void Handle(PosixSignalContext context)
    {
        if (source.IsCancellationRequested) return;
        context.Cancel = true;
        Console.Error.WriteLine("natem: stopping after the current step; a resumable checkpoint will be saved (signal again to abort)");
        source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in registrations) registration.Dispose();
        source.Dispose();
    }
}
