namespace Ddpm.Runtime;

/// <summary>One line of <c>/proc/self/maps</c>: an address range, its permissions ("r-xp" …), file offset and path.</summary>
internal readonly record struct Mapping(nint Start, nint End, string Permissions, long Offset, string Path);

/// <summary>The shared libraries mapped into this process, read from <c>/proc/self/maps</c> (Linux).</summary>
internal static class LoadedLibraries
{
    /// <summary>Every mapping of this process (none off Linux).</summary>
    public static IEnumerable<Mapping> All()
    {
        if (!OperatingSystem.IsLinux()) yield break;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // address perms offset dev inode path
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6) continue;
            var range = parts[0].Split('-');
            yield return new Mapping((nint)Convert.ToInt64(range[0], 16), (nint)Convert.ToInt64(range[1], 16), parts[1],
                Convert.ToInt64(parts[2], 16), parts[5].Trim());
        }
    }

    /// <summary>
    /// The path and load address (the mapping at file offset 0) of the first loaded library whose file name satisfies
    /// <paramref name="fileName"/>, or null.
    /// </summary>
    public static (string Path, nint Base)? Find(Func<string, bool> fileName)
    {
        foreach (var m in All())
        {
            if (m.Offset == 0 && m.Path.StartsWith('/') && fileName(Path.GetFileName(m.Path))) return (m.Path, m.Start);
        }
        return null;
    }

    /// <summary>The mappings of this process that map <paramref name="path"/>.</summary>
    public static List<Mapping> Mappings(string path) => All().Where(m => m.Path == path).ToList();
}
