using System.Runtime.InteropServices;

namespace Ddpm.Runtime;

/// <summary>
/// Runs a function once on every thread of the calling thread's OpenMP team (libtorch's intra-op threads), through
/// <c>GOMP_parallel</c> of the libgomp that libtorch loaded. Used to set per-thread CPU state on threads that
/// libtorch started and that no .NET code otherwise reaches.
/// </summary>
internal static unsafe class OpenMpTeam
{
    private static delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void> parallel;
    private static bool resolved;

    /// <summary>Runs <paramref name="function"/> on each team thread; does nothing when libgomp is not loaded.</summary>
    public static void Run(delegate* unmanaged<nint, void> function)
    {
        var gompParallel = Resolve();
        if (gompParallel is null) return;
        // num_threads 0: the team size libtorch set (omp_set_num_threads); flags 0.
        gompParallel(function, 0, 0, 0);
    }

    private static delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void> Resolve()
    {
        if (resolved) return parallel;
        resolved = true;
        if (LoadedLibraries.Find(name => name.StartsWith("libgomp", StringComparison.Ordinal)) is { } library
            && NativeLibrary.TryLoad(library.Path, out var handle) && NativeLibrary.TryGetExport(handle, "GOMP_parallel", out var address))
        {
            parallel = (delegate* unmanaged<delegate* unmanaged<nint, void>, nint, uint, uint, void>)address;
        }
        return parallel;
    }
}
