using Ddpm.Runtime;

namespace Ddpm.Cli;

/// <summary>Process-wide settings the tool applies once at start-up (the library itself never does).</summary>
internal static class Runtime
{
    /// <summary>The opt-in CPU tuning (allocator, denormals, MKL dispatch, constant pages, per-step collection).</summary>
    public static void Configure() => CpuTuning.Apply();
}
