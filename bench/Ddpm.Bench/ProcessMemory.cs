using System.Globalization;

namespace Ddpm.Bench;

/// <summary>Resident-set figures of this process from /proc/self/status (Linux).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size ("high water mark"), MiB; NaN where /proc is missing.</summary>
    public static double PeakRssMiB() => ReadKiB("VmHWM:") / 1024.0;

    /// <summary>Current resident set size, MiB; NaN where /proc is missing.</summary>
    public static double RssMiB() => ReadKiB("VmRSS:") / 1024.0;

    private static double ReadKiB(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return double.NaN;
        foreach (var line in File.ReadLines(status))
        {
            if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
            var value = line[key.Length..].Trim();
            var space = value.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0) value = value[..space];
            return double.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kib) ? kib : double.NaN;
        }
        return double.NaN;
    }
}
