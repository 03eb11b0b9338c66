using System.Globalization;
using System.Runtime.InteropServices;

namespace Ddpm.Bench;

/// <summary>What the figures were measured on, read from /proc where available.</summary>
internal sealed record MachineInfo
{
    public required string Cpu { get; init; }
    public required int LogicalCores { get; init; }
    public required string CpuFlags { get; init; }
    public required double MemoryGiB { get; init; }
    public required string Os { get; init; }
    public required string Runtime { get; init; }
    public required string TorchSharp { get; init; }

    /// <summary>Set environment variables that change libtorch's threading or kernels (OpenMP, MKL, oneDNN).</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    private static readonly string[] EnvironmentPrefixes = ["OMP_", "KMP_", "GOMP_", "MKL_", "DNNL_", "ONEDNN_", "OPENBLAS_", "ATEN_", "TORCH_"];

    public static MachineInfo Read()
    {
        var cpuinfo = ReadOrEmpty("/proc/cpuinfo");
        string Field(string key) => cpuinfo.Split('\n')
            .Where(l => l.StartsWith(key, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
            .FirstOrDefault() ?? "";
        var flags = Field("flags").Split(' ');
        string[] interesting = ["avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni"];
        var meminfo = ReadOrEmpty("/proc/meminfo").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var memKiB = meminfo is null ? double.NaN
            : double.Parse(meminfo["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return new MachineInfo
        {
            Cpu = Field("model name") is { Length: > 0 } name ? name : RuntimeInformation.ProcessArchitecture.ToString(),
            LogicalCores = System.Environment.ProcessorCount,
            CpuFlags = string.Join(' ', interesting.Where(flags.Contains)),
            MemoryGiB = Math.Round(memKiB / (1024 * 1024), 1),
            Os = RuntimeInformation.OSDescription,
            Runtime = RuntimeInformation.FrameworkDescription,
            TorchSharp = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?",
            Environment = System.Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(k => EnvironmentPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal)))
                .Order(StringComparer.Ordinal)
                .ToDictionary(k => k, k => System.Environment.GetEnvironmentVariable(k) ?? ""),
        };
    }

    /// <summary>The 1-, 5- and 15-minute load averages; empty where /proc/loadavg is missing.</summary>
    public static double[] LoadAverage()
    {
        var text = ReadOrEmpty("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return text.Length < 3 ? [] : text.Take(3).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }
        catch (IOException)
        {
            return "";
        }
    }
}
