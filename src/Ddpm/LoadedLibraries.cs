namespace Ddpm;

/// <summary>The shared libraries mapped into this process, read from <c>/proc/self/maps</c> (Linux).</summary>
internal static class LoadedLibraries
{
    /// <summary>
    /// The path and load address (the mapping at file offset 0) of the first loaded library whose file name satisfies
    /// <paramref name="fileName"/>, or null.
    /// </summary>
    public static (string Path, nint Base)? Find(Func<string, bool> fileName)
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // address perms offset dev inode path
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || Convert.ToInt64(parts[2], 16) != 0) continue;
            var path = parts[5].Trim();
            if (!path.StartsWith('/') || !fileName(Path.GetFileName(path))) continue;
            return (path, (nint)Convert.ToInt64(parts[0].Split('-')[0], 16));
        }
        return null;
    }

    /// <summary>The address ranges of this process that map <paramref name="path"/>, with their permissions ("r-xp" …).</summary>
    public static List<(nint Start, nint End, string Permissions)> Mappings(string path)
    {
        var found = new List<(nint, nint, string)>();
        if (!OperatingSystem.IsLinux()) return found;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || parts[5].Trim() != path) continue;
            var range = parts[0].Split('-');
            found.Add(((nint)Convert.ToInt64(range[0], 16), (nint)Convert.ToInt64(range[1], 16), parts[1]));
        }
        return found;
    }
}
