using TorchSharp;
using Ddpm.Runtime;
using static TorchSharp.torch;

namespace Ddpm.Tests;

/// <summary>
/// The ELF readers behind the CPU tuning. What <c>CpuTuning.Apply</c> itself does is tested in a fresh process
/// (<see cref="ProcessSideEffectsTests"/>), so that this process stays untuned whatever the order of the tests.
/// </summary>
public sealed class CpuTuningTests
{
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
}
