namespace Ddpm.Imaging;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a torn file:
/// the content goes to a temporary file in the same directory, which is then renamed over the target.
/// A rename within one directory is atomic on the file systems we run on.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Creates <paramref name="path"/>'s directory if needed, lets <paramref name="write"/> fill a temporary file beside it,
    /// then renames the temporary file to <paramref name="path"/>, replacing any existing file.
    /// The temporary file is removed if anything fails.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole content to the stream it is given; it must not dispose the stream.</param>
    /// <param name="flushToDisk">
    /// Also force the content to the storage device before the rename (fsync), so the new file survives a power cut.
    /// Off by default: it costs a disk round trip per file, which adds up when thousands of samples are written.
    /// </param>
    /// <exception cref="ArgumentException">The path is empty.</exception>
    /// <exception cref="IOException">The directory cannot be created or the file cannot be written; the message names the path.</exception>
    public static void Write(string path, Action<Stream> write, bool flushToDisk = false)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = FullPath(path);
        var directory = Path.GetDirectoryName(full) ?? throw new IOException($"Cannot write '{full}': it has no parent directory.");
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"Cannot write '{full}': cannot create directory '{directory}' ({OneLine(e.Message)}).", e);
        }

        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new IOException($"Cannot write '{full}': {OneLine(e.Message)}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Atomically writes <paramref name="bytes"/> to <paramref name="path"/>, as <see cref="Write"/>.</summary>
    public static void WriteAllBytes(string path, byte[] bytes, bool flushToDisk = false)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes), flushToDisk);
    }

    private static string FullPath(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The output path must not be empty.", nameof(path));
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException($"'{path}' is not a valid file path ({OneLine(e.Message)}).", nameof(path), e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the original failure is the one worth reporting.
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
