using System.Runtime.InteropServices;
using TorchSharp;

namespace Ddpm;

/// <summary>
/// Process-wide CPU settings that make libtorch fast on Linux. Called by the <c>ddpm</c> tool at start-up; a program
/// using the library calls <see cref="Configure"/> once before its first tensor.
/// </summary>
public static partial class CpuRuntime
{
    // glibc mallopt parameters (malloc.h).
    private const int MallocTrimThreshold = -1;
    private const int MallocTopPad = -2;
    private const int MallocMmapThreshold = -3;

    /// <summary>Allocations below this come from the heap and are reused; glibc caps the threshold at 32 MiB on 64-bit.</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>Freed heap memory is kept up to this size instead of being returned (and page-faulted back) on every step.</summary>
    public const int TrimThresholdBytes = int.MaxValue;

    /// <summary>Extra heap grown at a time, so the heap is not extended by small steps.</summary>
    public const int TopPadBytes = 256 << 20;

    private static int configured;

    /// <summary>Whether the allocator settings were applied (glibc only).</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>
    /// Keeps freed activations in the heap instead of unmapping them after every step (glibc's default returns every
    /// large block to the system, and the next step page-faults it back), and uses one intra-op thread per core.
    /// Safe to call more than once.
    /// </summary>
    public static void Configure(int? threads = null)
    {
        if (Interlocked.Exchange(ref configured, 1) == 0 && OperatingSystem.IsLinux())
        {
            try
            {
                AllocatorTuned = mallopt(MallocMmapThreshold, MmapThresholdBytes) == 1
                    & mallopt(MallocTrimThreshold, TrimThresholdBytes) == 1
                    & mallopt(MallocTopPad, TopPadBytes) == 1;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                AllocatorTuned = false; // not glibc (e.g. musl): nothing to tune
            }
        }
        torch.set_num_threads(threads ?? Environment.ProcessorCount);
        DisableNnpack();
    }

    /// <summary>
    /// libtorch tries NNPACK for convolutions too small for oneDNN; on CPUs NNPACK does not support it prints a warning
    /// per call and falls back to its generic kernel. Turning NNPACK off goes to that kernel directly and silently.
    /// </summary>
    private static void DisableNnpack()
    {
        try
        {
            at_Context_setUserEnabledNNPACK(at_globalContext(), false);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A libtorch build without these symbols: the warnings stay, nothing else changes.
        }
    }

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr at_globalContext();

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static partial void at_Context_setUserEnabledNNPACK(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
