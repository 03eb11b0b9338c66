using System.Buffers.Binary;

namespace Ddpm.Runtime;

/// <summary>One section header of an ELF file.</summary>
internal sealed record ElfSection(string Name, uint Type, ulong Flags, ulong Address, long Offset, long Size, uint Link);

/// <summary>Reads the section headers of a 64-bit little-endian ELF file (the shared libraries libtorch ships).</summary>
internal static class ElfSections
{
    private static readonly byte[] Magic = [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>Section flag: the section occupies memory at run time.</summary>
    public const ulong Alloc = 0x2;

    /// <summary>Section flag: writable at run time.</summary>
    public const ulong Write = 0x1;

    /// <summary>Section flag: machine code.</summary>
    public const ulong Execute = 0x4;

    /// <summary>The section headers of <paramref name="file"/>, with their names.</summary>
    public static IReadOnlyList<ElfSection> Read(FileStream file)
    {
        var header = ReadBytes(file, 0, 64);
        if (!header.AsSpan(0, 4).SequenceEqual(Magic) || header[4] != 2 || header[5] != 1)
            throw new InvalidDataException($"{file.Name}: not a 64-bit little-endian ELF file");
        var tableOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(0x28));
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3A));
        var count = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3C));
        var namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(0x3E));
        if (entrySize < 64) throw new InvalidDataException($"{file.Name}: section headers of {entrySize} bytes");
        var table = ReadBytes(file, tableOffset, (long)entrySize * count);
        var raw = new (uint Name, uint Type, ulong Flags, ulong Address, long Offset, long Size, uint Link)[count];
        for (var i = 0; i < count; i++)
        {
            var s = table.AsSpan(i * entrySize);
            raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(s[8..]), BinaryPrimitives.ReadUInt64LittleEndian(s[0x10..]),
                (long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x18..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(s[0x28..]));
        }
        var names = namesIndex < count ? ReadBytes(file, raw[namesIndex].Offset, raw[namesIndex].Size) : [];
        return raw.Select(r => new ElfSection(CString(names, r.Name), r.Type, r.Flags, r.Address, r.Offset, r.Size, r.Link)).ToList();
    }

    /// <summary>The NUL-terminated ASCII string at <paramref name="offset"/> of a string table ("" when out of range).</summary>
    public static string CString(byte[] table, uint offset)
    {
        if (offset >= table.Length) return "";
        var rest = table.AsSpan((int)offset);
        var end = rest.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? rest : rest[..end]);
    }

    /// <summary><paramref name="count"/> bytes at <paramref name="offset"/>; a clear error when the file is shorter.</summary>
    public static byte[] ReadBytes(FileStream file, long offset, long count)
    {
        if (offset < 0 || count < 0 || offset + count > file.Length) throw new InvalidDataException($"{file.Name}: truncated ELF file");
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        return buffer;
    }
}
