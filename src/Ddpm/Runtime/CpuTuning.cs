using System.Runtime.InteropServices;
using TorchSharp;

namespace Ddpm.Runtime;

/// <summary>
/// Opt-in, process-wide CPU tuning that makes libtorch fast on Linux: glibc's allocator keeps freed activations,
/// denormal floats are flushed to zero on the calling thread and its OpenMP team, MKL takes its AVX-512 kernels on
/// non-Intel CPUs (a patch of libtorch's procedure linkage table), NNPACK is turned off, a background thread keeps
/// libtorch's constant tables marked as accessed, and the library's training and sampling loops collect garbage after
/// every step. The library never applies any of it by itself: building a model, training or sampling changes nothing
/// process-wide. A host that wants it (the <c>ddpm</c> tool, the benchmark) calls <see cref="Apply"/> once at start-up,
/// on the thread that will run the model, before its first tensor.
/// <para>
/// The per-step parts are a process-wide switch that only <see cref="Apply"/> turns on: the trainer and the sampling
/// pipeline call <see cref="BeginStep"/> and <see cref="EndStep"/> around every step, and both do nothing unless the
/// host applied the tuning (the tuning is process-wide, so its per-step part is too; no per-object hook needs to be
/// threaded through every entry point).
/// </para>
/// </summary>
public static unsafe partial class CpuTuning
{
    // glibc mallopt parameters (malloc.h).
    private const int MallocTrimThreshold = -1;
    private const int MallocTopPad = -2;
    private const int MallocMmapThreshold = -3;
    private const int MallocMmapMax = -4;

    /// <summary>Allocations below this come from the heap and are reused; glibc caps the threshold at 32 MiB on 64-bit.</summary>
    public const int MmapThresholdBytes = 32 << 20;

    /// <summary>Freed heap memory is kept up to this size instead of being returned (and page-faulted back) on every step.</summary>
    public const int TrimThresholdBytes = int.MaxValue;

    /// <summary>Extra heap grown at a time, so the heap is not extended by small steps.</summary>
    public const int TopPadBytes = 256 << 20;

    private static int allocatorApplied;
    private static volatile bool applied;

    /// <summary>Whether <see cref="Apply"/> ran in this process.</summary>
    public static bool Applied => applied;

    /// <summary>Whether the allocator settings were applied (glibc only).</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>Whether blocks above glibc's 32 MiB mmap threshold come from the heap too (see <see cref="CpuTuningOptions.KeepLargeBlocksInHeap"/>).</summary>
    public static bool LargeBlocksInHeap { get; private set; }

    /// <summary>Whether denormal floats are flushed to zero on the configuring thread (and the threads it starts).</summary>
    public static bool DenormalsFlushed { get; private set; }

    /// <summary>Whether MKL was let take its AVX-512 kernels on a non-Intel CPU (see <see cref="CpuTuningOptions.MklAvx512"/>).</summary>
    public static bool MklAvx512 => MklDispatch.Redirected;

    /// <summary>Why MKL's vendor check was left alone, or null when it was redirected.</summary>
    public static string? MklAvx512Reason => MklDispatch.Reason;

    /// <summary>Whether libtorch's constant tables are kept marked as accessed (see <see cref="CpuTuningOptions.KeepConstantsAccessed"/>).</summary>
    public static bool ConstantsKeptAccessed => ConstantPages.Active;

    /// <summary>Why libtorch's constant tables are not kept marked as accessed, or null.</summary>
    public static string? ConstantsReason => ConstantPages.Reason;

    /// <summary>The options <see cref="Apply"/> applied last, or null when it never ran.</summary>
    public static CpuTuningOptions? Options { get; private set; }

    /// <summary>
    /// Applies <paramref name="options"/> (<see cref="CpuTuningOptions.Default"/> when null): keeps freed activations
    /// in the heap instead of unmapping them after every step (glibc's default returns every large block to the system,
    /// and the next step page-faults it back), flushes denormal floats to zero, uses one intra-op thread per core, and
    /// so on (see <see cref="CpuTuningOptions"/>). Call it on the thread that will run the model, before its first
    /// tensor: the floating-point mode is per thread, and libtorch's worker threads copy it from the thread that starts
    /// them. The allocator settings are applied once per process; the others each time. Safe to call more than once.
    /// </summary>
    public static void Apply(CpuTuningOptions? options = null)
    {
        var settings = options ?? CpuTuningOptions.Default;
        Options = settings;
        applied = true;
        if (settings.TuneAllocator && Interlocked.Exchange(ref allocatorApplied, 1) == 0 && OperatingSystem.IsLinux())
        {
            try
            {
                AllocatorTuned = mallopt(MallocMmapThreshold, MmapThresholdBytes) == 1
                    & mallopt(MallocTrimThreshold, TrimThresholdBytes) == 1
                    & mallopt(MallocTopPad, TopPadBytes) == 1;
                LargeBlocksInHeap = settings.KeepLargeBlocksInHeap && mallopt(MallocMmapMax, 0) == 1;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                AllocatorTuned = false; // not glibc (e.g. musl): nothing to tune
            }
        }
        _ = torch.get_num_threads(); // loads libtorch
        if (settings.MklAvx512) MklDispatch.Apply();
        torch.set_num_threads(settings.Threads ?? Environment.ProcessorCount);
        DenormalsFlushed = SetFlushDenormals(settings.FlushDenormals);
        FlushedOnThisThread = settings.FlushDenormals;
        if (settings.DisableNnpack) DisableNnpack();
        if (settings.KeepConstantsAccessed) ConstantPages.Start();
        else ConstantPages.Stop();
    }

    /// <summary>
    /// Denormal floats (below 1.2e-38 in magnitude) can take a slow microcode path on x86. Values that small are noise
    /// for a network, so they are flushed to zero (FTZ/DAZ), as PyTorch's CPU tuning guide recommends with
    /// <c>torch.set_flush_denormal(True)</c>. The mode is per thread: it is set on the calling thread and on every
    /// thread of its OpenMP team, which libtorch's kernels run on, whenever that team was started.
    /// </summary>
    private static bool SetFlushDenormals(bool on)
    {
        try
        {
            var flushed = at_Context_setFlushDenormal(on) && on;
            OpenMpTeam.Run(on ? &FlushDenormalsOnThisThread : &KeepDenormalsOnThisThread);
            return flushed;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Called by the trainer and the sampling pipeline before every step. Does nothing unless <see cref="Apply"/> ran;
    /// then it sets the floating-point mode of a thread that runs the model but did not call <see cref="Apply"/>
    /// (and of its OpenMP team), once per thread.
    /// </summary>
    public static void BeginStep()
    {
        if (!applied || FlushedOnThisThread) return;
        if (Options!.FlushDenormals) DenormalsFlushed = SetFlushDenormals(true);
        FlushedOnThisThread = true;
    }

    [ThreadStatic]
    private static bool FlushedOnThisThread;

    [UnmanagedCallersOnly]
    private static void FlushDenormalsOnThisThread(nint data) => at_Context_setFlushDenormal(true);

    [UnmanagedCallersOnly]
    private static void KeepDenormalsOnThisThread(nint data) => at_Context_setFlushDenormal(false);

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

    /// <summary>
    /// Called by the trainer and the sampling pipeline once a step's tensors are disposed. Does nothing unless
    /// <see cref="Apply"/> ran with <see cref="CpuTuningOptions.CollectAfterEachStep"/>; then it runs the garbage
    /// collector and the finalizers it queues. About 1–2 ms.
    /// </summary>
    public static void EndStep()
    {
        if (!applied || !Options!.CollectAfterEachStep) return;
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr at_globalContext();

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static partial void at_Context_setUserEnabledNNPACK(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context16setFlushDenormalEb")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool at_Context_setFlushDenormal([MarshalAs(UnmanagedType.U1)] bool on); // a static member

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}

/// <summary>What <see cref="CpuTuning.Apply"/> applies; every optimisation can be turned off to measure it.</summary>
public sealed record CpuTuningOptions
{
    /// <summary>Everything on, one thread per core.</summary>
    public static CpuTuningOptions Default { get; } = new();

    /// <summary>Intra-op threads; null means one per core.</summary>
    public int? Threads { get; init; }

    /// <summary>glibc mallopt: freed activations stay in the heap.</summary>
    public bool TuneAllocator { get; init; } = true;

    /// <summary>
    /// With <see cref="TuneAllocator"/>: glibc serves no request with its own mapping (<c>mallopt(M_MMAP_MAX, 0)</c>),
    /// so blocks above the largest mmap threshold it accepts (32 MiB) are reused from the heap like smaller ones instead
    /// of being mapped, page-faulted in and unmapped at every step. Activations reach that size at large batches or
    /// images (the CIFAR-10 model at batch 32, attention scores at 32×32).
    /// </summary>
    public bool KeepLargeBlocksInHeap { get; init; } = true;

    /// <summary>Denormal floats flushed to zero (FTZ/DAZ).</summary>
    public bool FlushDenormals { get; init; } = true;

    /// <summary>
    /// MKL's matrix products take their AVX-512 kernels on non-Intel CPUs that have AVX-512 (MKL chooses by vendor
    /// and would run AVX2 code there). Takes effect only before libtorch's first matrix product.
    /// </summary>
    public bool MklAvx512 { get; init; } = true;

    /// <summary>NNPACK off: small convolutions go straight to libtorch's generic kernel.</summary>
    public bool DisableNnpack { get; init; } = true;

    /// <summary>
    /// A background thread reads one byte of each page of libtorch's constant tables every 100 ms, so that the
    /// masked loads in its SiLU/sigmoid kernels never meet a page whose accessed bit a memory monitor has cleared
    /// (each such load is a microcode assist; SiLU becomes 40× slower). About 1 % of one core.
    /// </summary>
    public bool KeepConstantsAccessed { get; init; } = true;

    /// <summary>
    /// <see cref="CpuTuning.EndStep"/> runs the finalizers of the step's leftover TorchSharp objects at the end of
    /// every training and sampling step. TorchSharp 0.107 leaves some small native blocks to the finalizer: the
    /// <see cref="TorchSharp.Scalar"/> of every number operand and implicit <c>alpha</c> (the code of this library
    /// avoids them where it runs every step, see <see cref="NativeScalars"/>), and the pinned buffer behind each
    /// <c>Tensor.shape</c>, which <c>Conv2d.forward</c> reads twice. Freed at random later moments, they sit inside the
    /// large blocks freed by the step, glibc cannot reuse those for the next step's activations, and the resident
    /// set grows into fresh memory: the small U-Net's sampling step peaked at 438–463 MiB without this and with
    /// implicit scalars, 349–365 MiB with <see cref="NativeScalars"/> alone, and 328 MiB with both.
    /// </summary>
    public bool CollectAfterEachStep { get; init; } = true;
}
