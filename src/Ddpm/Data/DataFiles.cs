using System.IO.Compression;

namespace Ddpm.Data;

/// <summary>File access shared by the loaders: every I/O or decompression failure becomes a <see cref="DataException"/>.</summary>
internal static class DataFiles
{
    /// <summary>The first two bytes of every gzip member (RFC 1952, §2.3.1).</summary>
    public static ReadOnlySpan<byte> GzipMagic => [0x1f, 0x8b];

    /// <summary>Throws when <paramref name="directory"/> does not exist.</summary>
    public static void RequireDirectory(string directory)
    {
        if (File.Exists(directory)) throw new DataException(directory, "is a file, expected a directory");
        if (!Directory.Exists(directory)) throw new DataException(directory, "directory not found");
    }

    /// <summary>Throws when <paramref name="path"/> is not an existing file.</summary>
    public static void RequireFile(string path)
    {
        if (Directory.Exists(path)) throw new DataException(path, "is a directory, expected a file");
        if (!File.Exists(path)) throw new DataException(path, "not found");
    }

    /// <summary>Opens a file for reading.</summary>
    public static FileStream OpenRead(string path)
    {
        RequireFile(path);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot open: {e.Message}", e);
        }
    }

    /// <summary>Reads a whole file.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        using var stream = OpenRead(path);
        try
        {
            var length = stream.Length;
            if (length > Array.MaxLength) throw new DataException(path, $"too large ({length} bytes)");
            var bytes = new byte[length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>
    /// Opens a file, decompressing it when it starts with the gzip magic bytes 1f 8b (whatever its name), else raw.
    /// </summary>
    public static Stream OpenMaybeGzip(string path)
    {
        var file = OpenRead(path);
        try
        {
            Span<byte> head = stackalloc byte[2];
            var n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            file.Seek(0, SeekOrigin.Begin);
            return n == 2 && head.SequenceEqual(GzipMagic) ? new GZipStream(file, CompressionMode.Decompress) : file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file.Dispose();
            throw new DataException(path, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    public static int ReadUpTo(Stream stream, Span<byte> buffer, string path)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DataException(path, $"bad gzip data: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(path, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Reads the stream to its end and returns how many bytes were left.</summary>
    public static long CountRemaining(Stream stream, string path)
    {
        var scratch = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = ReadUpTo(stream, scratch, path)) > 0) total += n;
        return total;
    }

    /// <summary>The one-line message for a file whose (decompressed) size is not the expected one.</summary>
    public static DataException WrongSize(string path, long expected, long found) =>
        new(path, found < expected
            ? $"truncated: expected {expected} bytes, found {found}"
            : $"wrong size: expected {expected} bytes, found {found}");
}
