using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Ddpm.Runtime;

/// <summary>
/// MKL, linked into libtorch for matrix products (attention, linear layers), picks its code path from the CPU vendor:
/// on AMD processors it runs generic AVX2 kernels even when the CPU has AVX-512, at less than half the speed (an
/// attention <c>bmm</c> of the small U-Net: 2.2 ms against 0.95 ms). The vendor test is MKL's exported function
/// <c>mkl_serv_intel_cpu_true</c>, which libtorch calls through its procedure linkage table. On a non-Intel CPU with
/// AVX-512 this points that table entry (and <c>mkl_serv_intel_cpu</c>'s) at a function returning 1, in this process
/// only; MKL then selects its kernels from the CPU's features as it does on Intel. Nothing is changed on Intel CPUs,
/// on CPUs without AVX-512, or when libtorch is laid out differently.
/// </summary>
internal static unsafe partial class MklDispatch
{
    private static readonly string[] VendorChecks = ["mkl_serv_intel_cpu_true", "mkl_serv_intel_cpu"];

    /// <summary>Whether the vendor check was redirected.</summary>
    public static bool Redirected { get; private set; }

    /// <summary>Why the vendor check was left alone, or null when it was redirected.</summary>
    public static string? Reason { get; private set; }

    /// <summary>Redirects MKL's vendor check when that is safe and useful. Must run before libtorch's first matrix product.</summary>
    public static void Apply()
    {
        if (Redirected) return;
        Reason = Applicable();
        if (Reason is not null) return;
        try
        {
            if (LoadedLibraries.Find(name => name == "libtorch_cpu.so") is not { } library)
            {
                Reason = "libtorch_cpu.so is not loaded";
                return;
            }
            var (path, baseAddress) = library;
            var slots = JumpSlots(path, VendorChecks);
            if (slots.Count == 0) { Reason = "libtorch_cpu.so calls no MKL vendor check through its PLT"; return; }
            var target = (nint)(delegate* unmanaged<int>)&IsIntel;
            var pageSize = Environment.SystemPageSize;
            foreach (var offset in slots)
            {
                var slot = baseAddress + (nint)offset;
                var page = slot & ~(nint)(pageSize - 1);
                if (mprotect(page, (nuint)pageSize, ProtRead | ProtWrite) != 0) { Reason = "the PLT slot could not be made writable"; return; }
                *(nint*)slot = target;
            }
            Redirected = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or DllNotFoundException or EntryPointNotFoundException)
        {
            Reason = e.Message;
        }
    }

    private static string? Applicable()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return "not Linux on x86-64";
        if (!(Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported)) return "the CPU has no AVX-512";
        return CpuVendor() == "GenuineIntel" ? "the CPU is Intel's: MKL already takes its best path" : null;
    }

    private static string CpuVendor()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> vendor = stackalloc byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(vendor, ebx);
        BinaryPrimitives.WriteInt32LittleEndian(vendor[4..], edx);
        BinaryPrimitives.WriteInt32LittleEndian(vendor[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(vendor);
    }

    [UnmanagedCallersOnly]
    private static int IsIntel() => 1;

    /// <summary>The GOT offsets of the R_X86_64_JUMP_SLOT relocations that bind any of <paramref name="names"/>.</summary>
    internal static List<ulong> JumpSlots(string path, IReadOnlyCollection<string> names)
    {
        const uint ShtRela = 4;
        const uint JumpSlot = 7;
        using var file = File.OpenRead(path);
        var sections = ElfSections.Read(file);
        var found = new List<ulong>();
        for (var i = 0; i < sections.Count; i++)
        {
            var rela = sections[i];
            if (rela.Type != ShtRela || rela.Link == 0 || rela.Link >= sections.Count) continue;
            var symbols = sections[(int)rela.Link];
            if (symbols.Link == 0 || symbols.Link >= sections.Count) continue;
            var strings = sections[(int)symbols.Link];
            var relocations = ElfSections.ReadBytes(file, rela.Offset, rela.Size);
            byte[]? symbolTable = null;
            byte[]? stringTable = null;
            for (var r = 0; r + 24 <= relocations.Length; r += 24)
            {
                var info = BinaryPrimitives.ReadUInt64LittleEndian(relocations.AsSpan(r + 8));
                if ((info & 0xFFFFFFFF) != JumpSlot) continue;
                symbolTable ??= ElfSections.ReadBytes(file, symbols.Offset, symbols.Size);
                stringTable ??= ElfSections.ReadBytes(file, strings.Offset, strings.Size);
                var symbol = (long)(info >> 32) * 24;
                if (symbol + 24 > symbolTable.Length) continue;
                var name = ElfSections.CString(stringTable, BinaryPrimitives.ReadUInt32LittleEndian(symbolTable.AsSpan((int)symbol)));
                if (names.Contains(name)) found.Add(BinaryPrimitives.ReadUInt64LittleEndian(relocations.AsSpan(r)));
            }
        }
        return found;
    }

    private const int ProtRead = 1;
    private const int ProtWrite = 2;

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int mprotect(nint address, nuint length, int protection);
}
