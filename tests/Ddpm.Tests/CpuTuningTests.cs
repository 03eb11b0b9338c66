using System.Runtime.Intrinsics.X86;
using TorchSharp;
using Ddpm.Runtime;
using static TorchSharp.torch;

namespace Ddpm.Tests;

public sealed class CpuTuningTests
{
    private delegate int IntFunction();

    private static string LibTorchCpu()
    {
        var library = LoadedLibraries.Find(name => name == "libtorch_cpu.so");
        Assert.NotNull(library);
        return library.Value.Path;
    }

    [Fact]
    public void The_MKL_vendor_checks_are_found_in_libtorchs_procedure_linkage_table()
    {
        _ = torch.get_num_threads();
        var slots = MklDispatch.JumpSlots(LibTorchCpu(), ["mkl_serv_intel_cpu_true", "mkl_serv_intel_cpu"]);
        Assert.Equal(2, slots.Count);
        Assert.Empty(MklDispatch.JumpSlots(LibTorchCpu(), ["no_such_function_anywhere"]));
    }

    [Fact]
    public void Section_headers_of_libtorch_are_read_with_their_names_and_a_short_file_is_refused()
    {
        _ = torch.get_num_threads();
        using (var file = File.OpenRead(LibTorchCpu()))
        {
            var sections = ElfSections.Read(file);
            var text = Assert.Single(sections, s => s.Name == ".text");
            Assert.NotEqual(0UL, text.Flags & ElfSections.Execute);
            var rodata = Assert.Single(sections, s => s.Name == ".rodata");
            Assert.Equal(0UL, rodata.Flags & (ElfSections.Execute | ElfSections.Write));
        }
        var path = Path.Combine(Path.GetTempPath(), $"ddpm-elf-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(path, [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0]);
            using var shortFile = File.OpenRead(path);
            var error = Assert.Throws<InvalidDataException>(() => ElfSections.Read(shortFile));
            Assert.Contains("truncated", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Libtorchs_constant_tables_are_located_in_memory_and_kept_accessed()
    {
        CpuTuning.Apply();
        Assert.True(CpuTuning.ConstantsKeptAccessed, CpuTuning.ConstantsReason);
        var ranges = ConstantPages.Locate();
        Assert.NotEmpty(ranges);
        Assert.All(ranges, r => Assert.Equal(0, r.Start % 4096));
        Assert.True(ranges.Sum(r => r.Length) > 1 << 20, "libtorch's .rodata is megabytes");
        var before = ConstantPages.Sweeps;
        var touched = ConstantPages.Sweep();
        Assert.True(ConstantPages.Sweeps > before);
        // Only pages already mapped are read: some are (libtorch has run), and never more than the tables hold.
        Assert.InRange(touched, 1, ranges.Sum(r => (r.Length + 4095) / 4096));
    }

    [Fact]
    public void Apply_redirects_MKLs_vendor_check_exactly_on_non_Intel_CPUs_with_AVX512_and_matrix_products_stay_exact()
    {
        CpuTuning.Apply();
        var (_, ebx, _, _) = X86Base.CpuId(0, 0);
        var intel = ebx == 0x756E6547; // "Genu"
        var avx512 = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;
        // Redirected if and only if the CPU is not Intel's and has AVX-512; otherwise the reason names which.
        Assert.Equal(!intel && avx512, CpuTuning.MklAvx512);
        if (intel) Assert.Contains("Intel", CpuTuning.MklAvx512Reason);
        else if (!avx512) Assert.Contains("AVX-512", CpuTuning.MklAvx512Reason);
        else
        {
            // The PLT slots libtorch calls MKL's vendor checks through now point at one function returning 1.
            Assert.Null(CpuTuning.MklAvx512Reason);
            var library = LoadedLibraries.Find(name => name == "libtorch_cpu.so")!.Value;
            var slots = MklDispatch.JumpSlots(library.Path, ["mkl_serv_intel_cpu_true", "mkl_serv_intel_cpu"]);
            var targets = slots.Select(offset => System.Runtime.InteropServices.Marshal.ReadIntPtr(library.Base + (nint)offset)).Distinct().ToList();
            var target = Assert.Single(targets);
            Assert.Equal(1, System.Runtime.InteropServices.Marshal.GetDelegateForFunctionPointer<IntFunction>(target)());
        }

        using var g = new Generator(1);
        using var a = randn([3, 67, 129], generator: g);
        using var b = randn([3, 129, 45], generator: g);
        using var product = a.bmm(b);
        using var exact = a.to(ScalarType.Float64).bmm(b.to(ScalarType.Float64));
        var error = (product.to(ScalarType.Float64) - exact).abs().max().item<double>();
        Assert.True(error < 1e-4, $"bmm differs from float64 by {error}");
    }

    [Fact]
    public void Denormals_are_flushed_on_the_configuring_thread()
    {
        CpuTuning.Apply();
        Assert.True(CpuTuning.DenormalsFlushed);
        using var tiny = tensor(new[] { 1e-30f });
        using var product = tiny.mul(1e-10f);
        Assert.Equal(0f, product.item<float>());
    }

    [Fact]
    public void Flushing_reaches_every_thread_of_the_OpenMP_team()
    {
        // On a fresh thread whose OpenMP team is already running, FTZ is turned off and on again through Configure.
        // The product is split between the team's threads; an element computed by a thread without FTZ is a denormal.
        long kept = -1, flushed = -1;
        var thread = new Thread(() =>
        {
            using (var warm = torch.ones(1 << 20)) using (var e = warm.exp()) { }
            using var tiny = torch.full(1 << 20, 1e-30f);
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
        Assert.Equal(1 << 20, kept);
        Assert.Equal(0, flushed);
    }
}
