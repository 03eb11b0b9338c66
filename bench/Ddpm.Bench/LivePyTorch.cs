using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ddpm.Runtime;

namespace Ddpm.Bench;

/// <summary>What PyTorch measured for one row in this run, on this machine (<c>unet_bench.py</c>'s JSON line).</summary>
internal sealed record LiveFigure
{
    /// <summary>The unet_bench.py arguments that produced the figure.</summary>
    public required string Arguments { get; init; }

    /// <summary>Median seconds of one training step or one sampling step (for complete runs: × the run's model calls).</summary>
    public required double Seconds { get; init; }
    public required double ImagesPerSecond { get; init; }
    public required double PeakRssMiB { get; init; }
    public IReadOnlyList<double> AllSeconds { get; init; } = [];

    /// <summary>Whether PyTorch ran before Ddpm's row (the order alternates from row to row).</summary>
    public bool RanFirst { get; init; }

    /// <summary>How the figure was derived when it is not a direct measurement.</summary>
    public string? Derived { get; init; }
}

/// <summary>
/// Runs the PyTorch reference script (<c>bench/reference/unet_bench.py</c>) on this machine, inside a root file
/// system that has PyTorch 2.6 (<c>bench/reference/setup-pytorch.sh</c> builds one), so that every ratio compares two
/// figures measured minutes apart on the same machine. The machine is a virtual one whose speed drifts over a day;
/// a ratio to figures measured on another day says little.
/// </summary>
internal sealed class LivePyTorch
{
    private readonly string root;
    private readonly string script;
    private readonly IReadOnlyList<string> environment;
    private readonly int threads;
    private readonly Dictionary<string, LiveFigure> cache = [];

    public LivePyTorch(string root, string repositoryRoot, IReadOnlyList<string> environment, int threads, string label = "PyTorch")
    {
        Label = label;
        this.root = Path.GetFullPath(root);
        if (!File.Exists(Path.Combine(this.root, "usr", "bin", "python3")))
            throw new ArgumentException($"--pytorch-root {root}: no usr/bin/python3 there; build it with bench/reference/setup-pytorch.sh.");
        if (!Directory.Exists(Path.Combine(this.root, "proc", "self")))
            throw new ArgumentException($"--pytorch-root {root}: /proc is not mounted there; run bench/reference/setup-pytorch.sh again.");
        var source = Path.Combine(repositoryRoot, "bench", "reference", "unet_bench.py");
        if (!File.Exists(source)) throw new ArgumentException($"{source}: missing.");
        Directory.CreateDirectory(Path.Combine(this.root, "tmp"));
        File.Copy(source, Path.Combine(this.root, "tmp", "ddpm-unet_bench.py"), overwrite: true);
        script = "/tmp/ddpm-unet_bench.py";
        this.environment = environment;
        this.threads = threads;
    }

    /// <summary>The variant's name in reports ("PyTorch", "PyTorch tuned").</summary>
    public string Label { get; }

    /// <summary>
    /// The environment that gives PyTorch the allocator settings Ddpm applies in-process with <c>mallopt</c>
    /// (<see cref="CpuTuning"/>, with <see cref="CpuTuningOptions.KeepLargeBlocksInHeap"/>): glibc reads the same
    /// parameters from these variables at start-up.
    /// </summary>
    public static IReadOnlyList<string> TunedAllocatorEnvironment { get; } =
    [
        $"MALLOC_MMAP_THRESHOLD_={CpuTuning.MmapThresholdBytes}",
        $"MALLOC_TRIM_THRESHOLD_={CpuTuning.TrimThresholdBytes}",
        $"MALLOC_TOP_PAD_={CpuTuning.TopPadBytes}",
        "MALLOC_MMAP_MAX_=0",
    ];

    /// <summary>A short description for the report.</summary>
    public string Describe() =>
        $"`unet_bench.py` run by `chroot {root} python3` with {threads} threads"
        + (environment.Count == 0 ? "" : " and " + string.Join(", ", environment.Select(e => $"`{e}`")));

    /// <summary>Whether PyTorch has a row like <paramref name="spec"/>.</summary>
    public static bool Covers(RowSpec spec) => Mode(spec) is not null;

    /// <summary>PyTorch's figure for <paramref name="spec"/>; complete runs reuse the forward figure of their batch.</summary>
    public LiveFigure Measure(RowSpec spec, bool ranFirst)
    {
        var (mode, config, batch, bf16) = Mode(spec) ?? throw new ArgumentException($"PyTorch has no row like {spec.Name}.");
        var args = new List<string>
        {
            "--mode", mode, "--config", config, "--batch", batch.ToString(CultureInfo.InvariantCulture),
            "--warmup", spec.Warmup.ToString(CultureInfo.InvariantCulture),
            "--iters", Math.Max(spec.Kind == RowKind.Run ? 7 : spec.Iterations, 1).ToString(CultureInfo.InvariantCulture),
            "--threads", threads.ToString(CultureInfo.InvariantCulture),
        };
        if (bf16) args.Add("--bf16");
        var key = string.Join(' ', args);
        if (!cache.TryGetValue(key, out var figure))
        {
            figure = Run(args) with { RanFirst = ranFirst };
            cache[key] = figure;
        }
        if (spec.Kind != RowKind.Run) return figure;
        var calls = (spec.Sampler!.Steps ?? DefaultTimesteps) * (int)Math.Ceiling(spec.Images / (double)spec.Batch);
        return figure with
        {
            Seconds = figure.Seconds * calls,
            ImagesPerSecond = spec.Images / (figure.Seconds * calls),
            PeakRssMiB = double.NaN,
            Derived = $"{calls} × the s/step of `{key}`",
        };
    }

    // T of the presets: DDPM sampling without --steps takes this many steps.
    private const int DefaultTimesteps = 1000;

    private static (string Mode, string Config, int Batch, bool Bf16)? Mode(RowSpec spec)
    {
        var config = spec.Preset switch { "small" => "small", "cifar10" => "cifar", _ => null };
        if (config is null) return null;
        var bf16 = spec.Precision == Training.Precision.Bf16;
        return spec.Kind switch
        {
            RowKind.Train => ("train", config, spec.Batch, bf16),
            RowKind.Forward => ("sample", config, spec.Batch, bf16),
            RowKind.Run when spec.Sampler is not null => ("sample", config, spec.Batch, bf16),
            _ => null,
        };
    }

    private LiveFigure Run(List<string> args)
    {
        var start = new ProcessStartInfo("chroot")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(root);
        start.ArgumentList.Add("env");
        foreach (var e in environment) start.ArgumentList.Add(e);
        start.ArgumentList.Add("python3");
        start.ArgumentList.Add(script);
        foreach (var a in args) start.ArgumentList.Add(a);
        Console.Error.WriteLine($"  {Label}: {string.Join(' ', args)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("chroot did not start.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var json = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || json is null)
        {
            var last = stderr.Result.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "";
            throw new InvalidOperationException($"PyTorch ({string.Join(' ', args)}) exited with {process.ExitCode}: {last}");
        }
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var batch = r.GetProperty("batch").GetInt32();
        var seconds = r.TryGetProperty("step_s_median", out var s) ? s.GetDouble() : r.GetProperty("fwd_s_median").GetDouble();
        return new LiveFigure
        {
            Arguments = string.Join(' ', args),
            Seconds = seconds,
            ImagesPerSecond = batch / seconds,
            PeakRssMiB = r.GetProperty("peak_rss_mib").GetDouble(),
            AllSeconds = r.GetProperty("step_s_all").EnumerateArray().Select(e => e.GetDouble()).ToList(),
        };
    }
}
