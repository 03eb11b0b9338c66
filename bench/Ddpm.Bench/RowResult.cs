namespace Ddpm.Bench;

/// <summary>What one row measured, as the child process prints it (one JSON line on stdout).</summary>
internal sealed record RowResult
{
    public required string Row { get; init; }
    public required string Kind { get; init; }
    public required string Preset { get; init; }
    public required int ImageSize { get; init; }
    public required int Channels { get; init; }
    public required int Batch { get; init; }

    /// <summary>Images per timed iteration: the batch, or the images of a complete run.</summary>
    public required int Images { get; init; }
    public required string Precision { get; init; }
    public required bool Quick { get; init; }
    public required int Warmup { get; init; }
    public required int Iterations { get; init; }
    public required int Threads { get; init; }
    public required long Parameters { get; init; }
    public required string Includes { get; init; }

    /// <summary>Median wall time of one timed iteration (a step, a forward or a whole run), seconds.</summary>
    public required double MedianSeconds { get; init; }
    public required IReadOnlyList<double> Seconds { get; init; }
    public double MinSeconds => Seconds.Count == 0 ? double.NaN : Seconds.Min();
    public double MaxSeconds => Seconds.Count == 0 ? double.NaN : Seconds.Max();

    /// <summary>Images / median seconds.</summary>
    public double ImagesPerSecond => Images / MedianSeconds;

    /// <summary>Model evaluations per timed iteration (runs: sampler steps × batches).</summary>
    public int ModelCalls { get; init; } = 1;
    public double SecondsPerModelCall => MedianSeconds / ModelCalls;

    /// <summary>Complete runs: the median, minimum and maximum time of one sampler step over all timed runs, seconds.</summary>
    public double? StepMedianSeconds { get; init; }
    public double? StepMinSeconds { get; init; }
    public double? StepMaxSeconds { get; init; }

    /// <summary>Complete runs: how many sampler steps were timed.</summary>
    public int? StepsTimed { get; init; }

    /// <summary>Peak resident set (VmHWM) of the row's process at its end, MiB.</summary>
    public required double PeakRssMiB { get; init; }

    /// <summary>Resident set once the runtime and libtorch are loaded, before the model is built, MiB.</summary>
    public required double BaselineRssMiB { get; init; }

    /// <summary>For bf16 training: whether the trainer ran the forward pass outside its float32 <c>Model</c> (null otherwise).</summary>
    public bool? PrecisionHonoured { get; init; }
    public double? LastLoss { get; init; }
    public required string TorchSharpVersion { get; init; }
    public required string LibTorchVersion { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The CPU tunings in effect in the row's process (see <c>CpuTuning</c>).</summary>
    public IReadOnlyList<string> CpuTunings { get; init; } = [];
}
