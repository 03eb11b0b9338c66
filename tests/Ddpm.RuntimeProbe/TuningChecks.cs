using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Ddpm.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.RuntimeProbe;

/// <summary>
/// The details of <see cref="CpuTuning.Apply"/>, checked in the probe's process (after it applied the tuning) rather
/// than in the shared test process, whose other tests must run untuned whatever their order.
/// </summary>
internal sealed record TuningChecks
{
    /// <summary>Whether the tuning says the constant tables are kept accessed, and why not.</summary>
    public bool ConstantsKeptAccessed { get; init; }
    public string? ConstantsReason { get; init; }

    /// <summary>The constant tables found: ranges, bytes, whether every range is page-aligned, and one sweep's result.</summary>
    public int ConstantRanges { get; init; }
    public long ConstantBytes { get; init; }
    public bool ConstantRangesPageAligned { get; init; }
    public int PagesTouched { get; init; }
    public long PagesInRanges { get; init; }
    public bool SweepCounted { get; init; }

    /// <summary>Whether MKL's vendor check should be redirected here (a non-Intel CPU with AVX-512), and whether it was.</summary>
    public bool MklRedirectExpected { get; init; }
    public bool MklRedirected { get; init; }
    public string? MklReason { get; init; }

    /// <summary>The distinct targets of the vendor check's PLT slots, and what the single target returns (null otherwise).</summary>
    public int MklSlotTargets { get; init; }
    public int? MklSlotReturns { get; init; }

    /// <summary>The largest error of a float32 bmm against float64 with the tuning applied.</summary>
    public double BmmError { get; init; }

    /// <summary>On a fresh thread: non-zero denormal products with flushing turned off, then on, through Apply.</summary>
    public long DenormalsKept { get; init; }
    public long DenormalsLeftWhenFlushed { get; init; }
    public int DenormalElements { get; init; }

    /// <summary>Whether <see cref="CpuTuning.EndStep"/> ran a pending finalizer.</summary>
    public bool EndStepRanFinalizers { get; init; }

    private delegate int IntFunction();

    public static TuningChecks Run()
    {
        var ranges = ConstantPages.Locate();
        var before = ConstantPages.Sweeps;
        var touched = ConstantPages.Sweep();
        var (_, ebx, _, _) = X86Base.CpuId(0, 0);
        var intel = ebx == 0x756E6547; // "Genu"
        var avx512 = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;
        var library = LoadedLibraries.Find(name => name == "libtorch_cpu.so")!.Value;
        var targets = MklDispatch.JumpSlots(library.Path, ["mkl_serv_intel_cpu_true", "mkl_serv_intel_cpu"])
            .Select(offset => Marshal.ReadIntPtr(library.Base + (nint)offset)).Distinct().ToList();
        var (kept, flushed) = DenormalsOnAFreshThread();
        return new TuningChecks
        {
            ConstantsKeptAccessed = CpuTuning.ConstantsKeptAccessed,
            ConstantsReason = CpuTuning.ConstantsReason,
            ConstantRanges = ranges.Length,
            ConstantBytes = ranges.Sum(r => r.Length),
            ConstantRangesPageAligned = ranges.All(r => r.Start % 4096 == 0),
            PagesTouched = touched,
            PagesInRanges = ranges.Sum(r => (r.Length + 4095) / 4096),
            SweepCounted = ConstantPages.Sweeps > before,
            MklRedirectExpected = !intel && avx512,
            MklRedirected = CpuTuning.MklAvx512,
            MklReason = CpuTuning.MklAvx512Reason,
            MklSlotTargets = targets.Count,
            MklSlotReturns = CpuTuning.MklAvx512 && targets.Count == 1 ? Marshal.GetDelegateForFunctionPointer<IntFunction>(targets[0])() : null,
            BmmError = MeasureBmmError(),
            DenormalsKept = kept,
            DenormalsLeftWhenFlushed = flushed,
            DenormalElements = DenormalCount,
            EndStepRanFinalizers = EndStepRunsFinalizers(),
        };
    }

    private static double MeasureBmmError()
    {
        using var g = new Generator(1);
        using var a = randn([3, 67, 129], generator: g);
        using var b = randn([3, 129, 45], generator: g);
        using var product = a.bmm(b);
        using var exact = a.to(ScalarType.Float64).bmm(b.to(ScalarType.Float64));
        using var product64 = product.to(ScalarType.Float64);
        using var difference = product64 - exact;
        return difference.abs().max().item<double>();
    }

    private const int DenormalCount = 1 << 20;

    /// <summary>
    /// On a fresh thread whose OpenMP team is already running, FTZ is turned off and on again through Apply. The
    /// product is split between the team's threads; an element computed by a thread without FTZ is a denormal.
    /// </summary>
    private static (long Kept, long Flushed) DenormalsOnAFreshThread()
    {
        long kept = -1, flushed = -1;
        var thread = new Thread(() =>
        {
            using (var warm = torch.ones(DenormalCount)) using (var e = warm.exp()) { }
            using var tiny = torch.full(DenormalCount, 1e-30f);
            long Denormals()
            {
                using var product = tiny.mul(1e-10f);
                using var nonzero = product.ne(0);
                return nonzero.sum().item<long>();
            }
            CpuTuning.Apply(CpuTuningOptions.Default with { FlushDenormals = false });
            kept = Denormals();
            CpuTuning.Apply(CpuTuningOptions.Default);
            flushed = Denormals();
        });
        thread.Start();
        thread.Join();
        return (kept, flushed);
    }

    private static bool EndStepRunsFinalizers()
    {
        var flag = new FinalizationFlag();
        MakeGarbage(flag);
        CpuTuning.EndStep();
        return flag.Set;
    }

    private static void MakeGarbage(FinalizationFlag flag) => _ = new Finalizable(flag);

    private sealed class FinalizationFlag
    {
        public volatile bool Set;
    }

    private sealed class Finalizable(FinalizationFlag flag)
    {
        ~Finalizable() => flag.Set = true;
    }
}
