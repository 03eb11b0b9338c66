using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ddpm.Bench;

/// <summary>A row's outcome set beside the reference. Ratios are oriented so that speed &gt; 1 and memory &lt; 1 favour Ddpm.</summary>
internal sealed record ComparedRow
{
    public required string Row { get; init; }
    public required string Kind { get; init; }
    public RowResult? Result { get; init; }
    public string? Error { get; init; }
    public ReferenceRow? Reference { get; init; }

    /// <summary>Training: our images/s ÷ the reference's. Sampling: the reference's seconds ÷ ours. &gt; 1: Ddpm is faster.</summary>
    public double? SpeedRatio { get; init; }

    /// <summary>Our peak RSS ÷ the reference's. &lt; 1: Ddpm uses less memory.</summary>
    public double? MemoryRatio { get; init; }

    /// <summary>PyTorch measured on this machine in the same run (<c>--pytorch-root</c>), if it was.</summary>
    public LiveFigure? Live { get; init; }

    /// <summary>As <see cref="SpeedRatio"/>, against <see cref="Live"/>.</summary>
    public double? LiveSpeedRatio { get; init; }

    /// <summary>As <see cref="MemoryRatio"/>, against <see cref="Live"/>.</summary>
    public double? LiveMemoryRatio { get; init; }

    /// <summary>Why PyTorch could not be measured for this row, if it could not.</summary>
    public string? LiveError { get; init; }

    /// <summary>PyTorch measured with Ddpm's allocator settings (<c>--pytorch-tuned</c>), if it was.</summary>
    public LiveFigure? Tuned { get; init; }

    /// <summary>As <see cref="SpeedRatio"/>, against <see cref="Tuned"/>.</summary>
    public double? TunedSpeedRatio { get; init; }

    /// <summary>As <see cref="MemoryRatio"/>, against <see cref="Tuned"/>.</summary>
    public double? TunedMemoryRatio { get; init; }

    /// <summary>Why tuned PyTorch could not be measured for this row, if it could not.</summary>
    public string? TunedError { get; init; }

    /// <summary>With <c>--repeat</c>: every repeat's speed ratio against PyTorch here (or its median seconds when there is none).</summary>
    public IReadOnlyList<double> RepeatFigures { get; init; } = [];

    /// <summary>
    /// The repeat with the median speed ratio against PyTorch here (else against tuned PyTorch, else the median time),
    /// so that every figure of the returned row comes from one and the same repeat; the others are kept in
    /// <see cref="RepeatFigures"/>.
    /// </summary>
    public static ComparedRow MedianOf(IReadOnlyList<ComparedRow> repeats)
    {
        if (repeats.Count == 1) return repeats[0];
        var measured = repeats.Where(r => r.Result is not null).ToList();
        if (measured.Count == 0) return repeats[0];
        Func<ComparedRow, double> key = measured.All(r => r.LiveSpeedRatio is not null) ? r => r.LiveSpeedRatio!.Value
            : measured.All(r => r.TunedSpeedRatio is not null) ? r => r.TunedSpeedRatio!.Value
            : r => r.Result!.MedianSeconds;
        var ordered = measured.OrderBy(key).ToList();
        return ordered[(ordered.Count - 1) / 2] with { RepeatFigures = measured.Select(key).ToList() };
    }

    /// <summary>This row with <see cref="TunedSpeedRatio"/> and <see cref="TunedMemoryRatio"/> computed from <see cref="Tuned"/>.</summary>
    public ComparedRow WithTunedRatios()
    {
        var (speed, memory) = LiveRatios(Kind, Result, Tuned);
        return this with { TunedSpeedRatio = speed, TunedMemoryRatio = memory };
    }

    private static (double? Speed, double? Memory) LiveRatios(string kind, RowResult? r, LiveFigure? live)
    {
        if (r is null || live is null) return (null, null);
        var speed = kind == "train" ? r.ImagesPerSecond / live.ImagesPerSecond : live.Seconds / r.MedianSeconds;
        double? memory = double.IsFinite(live.PeakRssMiB) && double.IsFinite(r.PeakRssMiB) ? r.PeakRssMiB / live.PeakRssMiB : null;
        return (Math.Round(speed, 3), memory is { } m ? Math.Round(m, 3) : null);
    }

    /// <summary>Wall time of the whole child process, start-up and model construction included.</summary>
    public double ProcessSeconds { get; init; }

    public static ComparedRow From(RowOutcome outcome, ReferenceFigures? reference, LiveFigure? live = null, string? liveError = null)
    {
        var r = outcome.Result;
        var refRow = r is null ? null : reference?.For(r);
        double? speed = null;
        double? memory = null;
        if (r is not null && refRow is not null && !r.Quick)
        {
            speed = outcome.Spec.Kind == RowKind.Train
                ? refRow.ImagesPerSecond is { } ips ? r.ImagesPerSecond / ips : null
                : refRow.Seconds is { } s ? s / r.MedianSeconds : null;
            memory = refRow.PeakRssMiB is { } mib && double.IsFinite(r.PeakRssMiB) ? r.PeakRssMiB / mib : null;
        }
        var kind = outcome.Spec.Kind.ToString().ToLowerInvariant();
        var (liveSpeed, liveMemory) = LiveRatios(kind, r, live);
        return new ComparedRow
        {
            Row = outcome.Spec.Name,
            Live = live,
            LiveSpeedRatio = liveSpeed,
            LiveMemoryRatio = liveMemory,
            LiveError = liveError,
            Kind = kind,
            Result = r,
            Error = outcome.Error,
            Reference = r is not null && !r.Quick ? refRow : null,
            SpeedRatio = speed is { } x ? Math.Round(x, 3) : null,
            MemoryRatio = memory is { } m ? Math.Round(m, 3) : null,
            ProcessSeconds = Math.Round(outcome.WallSeconds, 1),
        };
    }
}

/// <summary>Everything one harness invocation measured, written as Markdown and JSON.</summary>
internal sealed record Report
{
    public required string GeneratedUtc { get; init; }
    public required string Command { get; init; }
    public required bool Quick { get; init; }
    public required MachineInfo Machine { get; init; }
    public required IReadOnlyList<double> LoadAverageStart { get; init; }
    public IReadOnlyList<double> LoadAverageEnd { get; set; } = [];
    public string? ReferenceName { get; init; }
    public string? ReferenceSource { get; init; }
    public string? ReferenceSoftware { get; init; }
    public string? ReferenceMachine { get; init; }
    /// <summary>How PyTorch was run on this machine in the same run, if it was.</summary>
    public string? LiveReference { get; init; }
    /// <summary>How PyTorch with Ddpm's allocator settings was run, if it was.</summary>
    public string? TunedReference { get; init; }
    public List<ComparedRow> Rows { get; } = [];
    public List<ComparedRow> Growth { get; } = [];

    public void Write(string pathWithoutExtension)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(pathWithoutExtension));
        if (dir is not null) Directory.CreateDirectory(dir);
        WriteAtomically(pathWithoutExtension + ".json", JsonSerializer.Serialize(this, Json.Indented) + "\n");
        WriteAtomically(pathWithoutExtension + ".md", Markdown());
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The one-line summary printed after each row, figure beside the reference.</summary>
    public static string ConsoleLine(ComparedRow c)
    {
        if (c.Result is not { } r) return $"{c.Row}: FAILED — {c.Error}";
        var sb = new StringBuilder(c.Row).Append(": ");
        var refName = "PyTorch";
        if (c.Kind == "train")
        {
            sb.Append(F(r.ImagesPerSecond, 2)).Append(" img/s (").Append(F(r.MedianSeconds, 3)).Append(" s/step)");
            if (c.Reference?.ImagesPerSecond is { } ips) sb.Append(", ").Append(refName).Append(' ').Append(F(ips, 2)).Append(" img/s");
        }
        else
        {
            sb.Append(F(r.MedianSeconds, 3)).Append(" s");
            if (c.Kind == "run") sb.Append(" per run of ").Append(r.Images).Append(" images");
            if (c.Reference?.Seconds is { } s) sb.Append(", ").Append(refName).Append(' ').Append(F(s, 3)).Append(" s");
        }
        if (c.SpeedRatio is { } x) sb.Append(" → speed ×").Append(F(x, 2)).Append(x >= 1 ? " (Ddpm faster)" : " (Ddpm slower)");
        sb.Append("; peak RSS ").Append(F(r.PeakRssMiB, 0)).Append(" MiB");
        if (c.Reference?.PeakRssMiB is { } mib) sb.Append(", ").Append(refName).Append(' ').Append(F(mib, 0)).Append(" MiB");
        if (c.MemoryRatio is { } m) sb.Append(" → memory ×").Append(F(m, 2)).Append(m <= 1 ? " (Ddpm less)" : " (Ddpm more)");
        if (c.Live is { } live)
        {
            sb.Append("; PyTorch here ").Append(c.Kind == "train" ? F(live.ImagesPerSecond, 2) + " img/s" : F(live.Seconds, 3) + " s");
            if (c.LiveSpeedRatio is { } lx) sb.Append(" → speed ×").Append(F(lx, 2));
            if (c.LiveMemoryRatio is { } lm) sb.Append(", memory ×").Append(F(lm, 2));
        }
        if (c.LiveError is { } le) sb.Append("; PyTorch here failed: ").Append(le);
        if (c.Tuned is { } tunedFigure)
        {
            sb.Append("; PyTorch tuned ").Append(c.Kind == "train" ? F(tunedFigure.ImagesPerSecond, 2) + " img/s" : F(tunedFigure.Seconds, 3) + " s");
            if (c.TunedSpeedRatio is { } tx) sb.Append(" → speed ×").Append(F(tx, 2));
            if (c.TunedMemoryRatio is { } tm) sb.Append(", memory ×").Append(F(tm, 2));
        }
        if (c.TunedError is { } te) sb.Append("; PyTorch tuned failed: ").Append(te);
        if (c.RepeatFigures.Count > 1) sb.Append(" [repeats: ").Append(string.Join(", ", c.RepeatFigures.Select(v => F(v, 3)))).Append(']');
        if (r.PrecisionHonoured == false) sb.Append(" [WARNING: Trainer ignored Precision.Bf16; fp32 was measured]");
        return sb.ToString();
    }

    public string Markdown()
    {
        var md = new StringBuilder();
        var refName = ReferenceName ?? "reference";
        md.AppendLine("# Ddpm benchmark").AppendLine();
        md.AppendLine($"Generated {GeneratedUtc} by `{Command}`.").AppendLine();
        if (Quick)
        {
            md.AppendLine("> **Quick mode** (`--quick`): one warm-up, two iterations, tiny batches. These figures check that the harness works; "
                + "they are not comparable with the reference, so no ratios are given.").AppendLine();
        }
        var cores = Math.Max(1, Machine.LogicalCores);
        var busy = LoadAverageStart.Count > 0 && LoadAverageStart[0] > 0.25 * cores || LoadAverageEnd.Count > 0 && LoadAverageEnd[0] > 1.25 * cores;
        if (busy)
        {
            md.AppendLine($"> **The machine was not idle**: 1-minute load average {LoadAverage(LoadAverageStart)} at the start and "
                + $"{LoadAverage(LoadAverageEnd)} at the end, on {cores} logical cores. Other work competes for the cores, so these figures understate the speed.")
                .AppendLine();
        }
        var first = Rows.Concat(Growth).Select(r => r.Result).FirstOrDefault(r => r is not null);
        md.AppendLine($"- **Machine.** {Machine.Cpu}, {Machine.LogicalCores} logical cores ({Machine.CpuFlags}), {F(Machine.MemoryGiB, 1)} GiB RAM; {Machine.Os}.");
        md.AppendLine($"- **Software.** {Machine.Runtime}; TorchSharp {Machine.TorchSharp}" + (first is null ? "" : $" (libtorch {first.LibTorchVersion}); {first.Threads} torch threads") + ".");
        if (first is not null)
            md.AppendLine("- **CPU tunings in effect.** " + (first.CpuTunings.Count == 0 ? "none" : string.Join(", ", first.CpuTunings)) + ".");
        md.AppendLine("- **Environment.** " + (Machine.Environment.Count == 0 ? "no OpenMP/MKL/oneDNN variables set"
            : string.Join(", ", Machine.Environment.Select(kv => $"`{kv.Key}={kv.Value}`"))) + ".");
        md.AppendLine($"- **Load average** (1, 5, 15 min) at start {LoadAverage(LoadAverageStart, all: true)}, at end {LoadAverage(LoadAverageEnd, all: true)}.");
        if (ReferenceSource is not null)
            md.AppendLine($"- **Reference.** {refName}: {ReferenceSoftware}; {ReferenceMachine}. Source: {ReferenceSource}.");
        md.AppendLine();
        md.AppendLine("Each row runs in a fresh process. Peak RSS is that process's `VmHWM` at the end of the row: the .NET runtime and libtorch "
            + "are included (see *baseline* below), as the reference's `ru_maxrss` includes about 300 MiB of Python and torch. "
            + "A figure is the median of the timed iterations, after the warm-up ones.").AppendLine();

        if (LiveReference is not null) AppendLive(md);

        var train = Rows.Where(r => r.Kind == "train").ToList();
        if (train.Count > 0)
        {
            md.AppendLine("## Training").AppendLine();
            md.AppendLine($"One timed iteration = {RowCatalog.TrainIncludes}. Data: a synthetic in-memory `ByteImageDataset` (uniform-noise bytes), "
                + "random flips as the preset's data set (on for cifar10, off for small). The trainer also keeps an EMA copy of the weights, "
                + "which the reference does not.").AppendLine();
            md.AppendLine($"| row | batch | precision | warm-up + iterations | s/step (median) | min–max s | images/s | {refName} images/s | "
                + $"speed ×: ours ÷ {refName} (> 1 = Ddpm faster) | peak RSS MiB | {refName} MiB | memory ×: ours ÷ {refName} (< 1 = Ddpm uses less) | baseline MiB |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var c in train) md.AppendLine(TableRow(c, training: true));
            md.AppendLine();
        }

        var sampling = Rows.Where(r => r.Kind != "train").ToList();
        if (sampling.Count > 0)
        {
            md.AppendLine("## Sampling").AppendLine();
            md.AppendLine($"`sample-*` rows: one timed iteration = {RowCatalog.ForwardIncludes}. Runs (`ddpm1000`, `ddim*`, `dpmpp2m*`, `unipc*`): one timed iteration = "
                + $"{RowCatalog.RunIncludes}; untrained weights (timing does not depend on them). The reference figures for complete runs are "
                + "derived from its per-forward time (1000 × and 50 ×), not measured runs; the fast rows have none.").AppendLine();
            md.AppendLine($"| row | batch | precision | warm-up + iterations | seconds (median) | min–max s | images/s | s per model call | {refName} s | "
                + $"speed ×: {refName} ÷ ours (> 1 = Ddpm faster) | peak RSS MiB | {refName} MiB | memory ×: ours ÷ {refName} (< 1 = Ddpm uses less) | baseline MiB |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var c in sampling) md.AppendLine(TableRow(c, training: false));
            md.AppendLine();
            AppendFastSampling(md, sampling);
        }

        if (Growth.Count > 0) AppendGrowth(md);

        var notes = Rows.Concat(Growth)
            .SelectMany(c => c.Error is not null
                ? [$"`{c.Row}` failed: {c.Error.ReplaceLineEndings(" ")}"]
                : (c.Result?.Notes ?? []).Select(n => $"`{c.Row}`: {n}"))
            .ToList();
        if (notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var n in notes) md.AppendLine($"- {n}");
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>
    /// Complete runs against DDPM-1000 of the same precision measured in this run: the speed-up and whether 64 images take at
    /// most <see cref="FastTargetSeconds"/> (the fast-sampling target of docs/sampling.md).
    /// </summary>
    private static void AppendFastSampling(StringBuilder md, IReadOnlyList<ComparedRow> sampling)
    {
        var runs = sampling.Where(c => c.Kind == "run" && c.Result is { Quick: false }).ToList();
        var lines = new List<string>();
        foreach (var c in runs.Where(c => !c.Row.StartsWith("ddpm1000-", StringComparison.Ordinal)))
        {
            var full = runs.FirstOrDefault(d => d.Row.StartsWith("ddpm1000-", StringComparison.Ordinal) && d.Result!.Precision == c.Result!.Precision);
            if (full is null) continue;
            var r = c.Result!;
            lines.Add($"| `{c.Row}` | {F(r.MedianSeconds, 2)} | {F(full.Result!.MedianSeconds, 1)} | **{F(full.Result.MedianSeconds / r.MedianSeconds, 1)}** | "
                + (r.Images == 64 && r.MedianSeconds <= FastTargetSeconds ? "yes" : "no") + " |");
        }
        if (lines.Count == 0) return;
        md.AppendLine("### Against DDPM-1000 in this run").AppendLine();
        md.AppendLine($"| row | seconds (median) | DDPM-1000 s (same precision) | speed-up | 64 images in ≤ {FastTargetSeconds:F0} s |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var line in lines) md.AppendLine(line);
        md.AppendLine();
    }

    /// <summary>The fast-sampling target: 64 small images in at most this many seconds.</summary>
    private const double FastTargetSeconds = 10;

    private void AppendLive(StringBuilder md)
    {
        var withTuned = TunedReference is not null;
        md.AppendLine("## Against PyTorch on this machine, in this run").AppendLine();
        md.AppendLine($"PyTorch 2.6 measured by {LiveReference}, right before or after each Ddpm row (the order alternates). "
            + "Same model, batch, threads, warm-up and iteration counts. Speed × > 1 and memory × < 1 favour Ddpm. "
            + "Complete sampling runs compare with PyTorch's per-step time × the number of steps, so their memory is not compared.").AppendLine();
        if (withTuned)
        {
            md.AppendLine($"*PyTorch tuned* is PyTorch with the allocator settings Ddpm applies in-process, given as glibc's environment "
                + $"variables: {TunedReference}. It runs on the other side of the Ddpm row. This is the strictest comparison: on this "
                + "machine glibc's default of returning freed memory to the system makes PyTorch page-fault its activations back "
                + "at every step, which a PyTorch user avoids only by setting these variables.").AppendLine();
        }
        md.AppendLine(withTuned
            ? "| row | Ddpm | PyTorch here | speed × | PyTorch tuned | speed × | Ddpm peak RSS MiB | PyTorch MiB | memory × | tuned MiB | memory × | PyTorch ran |"
            : "| row | Ddpm | PyTorch here | speed × | Ddpm peak RSS MiB | PyTorch MiB | memory × | PyTorch ran |");
        md.AppendLine(withTuned ? "|---|---|---|---|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|---|---|");
        foreach (var c in Rows.Where(c => c.Live is not null || c.LiveError is not null))
        {
            if (c.Result is not { } r) continue;
            var train = c.Kind == "train";
            var ours = train ? $"{F(r.ImagesPerSecond, 2)} img/s" : $"{F(r.MedianSeconds, 3)} s";
            var (theirs, speed, theirMem, mem) = LiveCells(c.Live, c.LiveError, train, c.LiveSpeedRatio, c.LiveMemoryRatio);
            var ran = c.Live is { } live ? (live.RanFirst ? "first" : "second") : "";
            if (withTuned)
            {
                var (tunedTheirs, tunedSpeed, tunedMem, tunedMemRatio) = LiveCells(c.Tuned, c.TunedError, train, c.TunedSpeedRatio, c.TunedMemoryRatio);
                md.AppendLine($"| `{c.Row}` | {ours} | {theirs} | {speed} | {tunedTheirs} | {tunedSpeed} | {F(r.PeakRssMiB, 0)} | {theirMem} | {mem} | {tunedMem} | {tunedMemRatio} | {ran} |");
            }
            else
            {
                md.AppendLine($"| `{c.Row}` | {ours} | {theirs} | {speed} | {F(r.PeakRssMiB, 0)} | {theirMem} | {mem} | {ran} |");
            }
        }
        md.AppendLine();
        var repeated = Rows.Where(c => c.RepeatFigures.Count > 1).ToList();
        if (repeated.Count > 0)
        {
            md.AppendLine("Rows measured more than once (`--repeat`) show the repeat with the median ratio; every repeat's speed × against PyTorch here:").AppendLine();
            foreach (var c in repeated) md.AppendLine($"- `{c.Row}`: {string.Join(", ", c.RepeatFigures.Select(v => F(v, 2)))}");
            md.AppendLine();
        }
    }

    /// <summary>The figure, speed ratio, peak memory and memory ratio cells of one PyTorch variant.</summary>
    private static (string Figure, string Speed, string PeakMiB, string Memory) LiveCells(LiveFigure? live, string? error, bool train, double? speed, double? memory)
    {
        if (live is null) return (error is null ? "–" : "failed: " + error.Replace("|", "\\|", StringComparison.Ordinal), "–", "–", "–");
        var figure = train ? $"{F(live.ImagesPerSecond, 2)} img/s" : $"{F(live.Seconds, 3)} s" + (live.Derived is null ? "" : " (derived)");
        return (figure,
            speed is { } x ? $"**{F(x, 2)}**" : "–",
            double.IsFinite(live.PeakRssMiB) ? F(live.PeakRssMiB, 0) : "–",
            memory is { } m ? F(m, 2) : "–");
    }

    private void AppendGrowth(StringBuilder md)
    {
        md.AppendLine("## Cost growth (small architecture, fp32)").AppendLine();
        md.AppendLine("The small U-Net (ch 32, multipliers 1, 2, 2, two ResNet blocks per level) at 28, 32 and 64 pixels, grey. Attention stays at the "
            + "second level, half the input resolution: at 14 for 28 (the `small` preset), 16 for 32 and 32 for 64, plus the middle block. "
            + "Training as the training rows; forward as the `sample-*` rows.").AppendLine();
        md.AppendLine("| size | attention at | batch | train s/step | train images/s | train ms/image | train peak RSS MiB | forward s | forward images/s | forward ms/image | forward peak RSS MiB |");
        md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var size in RowCatalog.GrowthSizes)
        {
            foreach (var batch in RowCatalog.GrowthBatches)
            {
                var tr = Growth.FirstOrDefault(c => c.Row == $"growth-train-{size}-b{batch}");
                var fw = Growth.FirstOrDefault(c => c.Row == $"growth-sample-{size}-b{batch}");
                if (tr is null && fw is null) continue;
                var shownBatch = tr?.Result?.Batch ?? fw?.Result?.Batch ?? batch;
                var attn = string.Join(", ", RowCatalog.GrowthModel(size).AttentionResolutions);
                md.AppendLine($"| {size} | {attn} | {shownBatch} | {Cells(tr)} | {Cells(fw)} |");
            }
        }
        md.AppendLine();

        static string Cells(ComparedRow? c) => c?.Result is { } r
            ? $"{F(r.MedianSeconds, 3)} | {F(r.ImagesPerSecond, 1)} | {F(1000 * r.MedianSeconds / r.Images, 2)} | {F(r.PeakRssMiB, 0)}"
            : c is null ? "– | – | – | –" : "failed | | |";
    }

    private static string TableRow(ComparedRow c, bool training)
    {
        if (c.Result is not { } r) return $"| `{c.Row}` | failed: {c.Error?.ReplaceLineEndings(" ").Replace("|", "\\|", StringComparison.Ordinal)} |";
        var warn = r.PrecisionHonoured == false ? " ⚠ fp32 measured (Trainer ignored Precision.Bf16)" : "";
        var iterations = $"{r.Warmup} + {r.Iterations}";
        var spread = $"{F(r.MinSeconds, 3)}–{F(r.MaxSeconds, 3)}";
        var rf = c.Reference;
        var speed = c.SpeedRatio is { } x ? $"**{F(x, 2)}**" : "–";
        var memory = c.MemoryRatio is { } m ? F(m, 2) : "–";
        var refMemory = rf?.PeakRssMiB is { } mib ? F(mib, 0) : "–";
        if (training)
        {
            var refIps = rf?.ImagesPerSecond is { } ips ? F(ips, 2) : "–";
            return $"| `{c.Row}` | {r.Batch} | {r.Precision}{warn} | {iterations} | {F(r.MedianSeconds, 3)} | {spread} | {F(r.ImagesPerSecond, 2)} | {refIps} | "
                + $"{speed} | {F(r.PeakRssMiB, 0)} | {refMemory} | {memory} | {F(r.BaselineRssMiB, 0)} |";
        }
        var refSeconds = rf?.Seconds is { } s ? F(s, 3) + (rf.Derived is null ? "" : " (derived)") : "–";
        var batch = c.Kind == "run" ? $"{r.Images} images, batch {r.Batch}" : r.Batch.ToString(CultureInfo.InvariantCulture);
        return $"| `{c.Row}` | {batch} | {r.Precision} | {iterations} | {F(r.MedianSeconds, 3)} | {spread} | {F(r.ImagesPerSecond, 2)} | {F(r.SecondsPerModelCall, 4)} | "
            + $"{refSeconds} | {speed} | {F(r.PeakRssMiB, 0)} | {refMemory} | {memory} | {F(r.BaselineRssMiB, 0)} |";
    }

    private static string LoadAverage(IReadOnlyList<double> load, bool all = false) =>
        load.Count == 0 ? "unknown" : all ? string.Join(", ", load.Select(l => F(l, 2))) : F(load[0], 2);

    private static string F(double value, int decimals) =>
        double.IsFinite(value) ? value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "n/a";
}
