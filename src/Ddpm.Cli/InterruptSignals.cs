using System.Runtime.InteropServices;

namespace Ddpm.Cli;

/// <summary>
/// Turns the first SIGINT (Ctrl+C) or SIGTERM into a cancellation, so long work can stop cleanly (training finishes its
/// step and writes a checkpoint). A second signal is left to its default action and ends the process at once.
/// </summary>
internal sealed class InterruptSignals : IDisposable
{
    private readonly CancellationTokenSource source = new();
    private readonly PosixSignalRegistration[] registrations;

    public InterruptSignals()
    {
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => source.Token;

    private void Handle(PosixSignalContext context)
    {
        if (source.IsCancellationRequested) return; // second signal: default action
        context.Cancel = true;
        Console.Error.WriteLine("ddpm: stopping after this step and writing a checkpoint (signal again to abort)");
        source.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        source.Dispose();
    }
}
