namespace Ddpm.Cli;

/// <summary>Checks that outputs can be written before long work starts, so a bad path fails at once, not at the end.</summary>
internal static class OutputPaths
{
    /// <summary>Creates <paramref name="directory"/> if needed and proves a file can be created in it.</summary>
    public static void EnsureWritableDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".ddpm-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write to '{directory}': {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    /// <summary>Checks the folder that will hold <paramref name="file"/>.</summary>
    public static void EnsureWritableFile(string file) =>
        EnsureWritableDirectory(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".");
}
