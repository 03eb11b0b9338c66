namespace Ddpm.Training;

/// <summary>What a <see cref="TrainingRun"/> is doing, reported through <see cref="IProgress{T}"/>.</summary>
public enum TrainingPhase
{
    /// <summary>An optimizer step finished.</summary>
    Step,

    /// <summary>A sample grid is being drawn from the EMA model.</summary>
    Sampling,

    /// <summary>A checkpoint was written.</summary>
    Checkpoint,

    /// <summary>A sample grid was written.</summary>
    SamplesWritten,
}

/// <summary>A progress report of a training run.</summary>
/// <param name="Phase">What happened.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps the run is going to.</param>
/// <param name="Metrics">The last step's metrics (null before the first step).</param>
/// <param name="Path">The file or folder written, for checkpoints and samples.</param>
public sealed record TrainingEvent(TrainingPhase Phase, long Step, long TotalSteps, StepMetrics? Metrics, string? Path = null);

/// <summary>How a call to <see cref="TrainingRun.Train"/> ended.</summary>
public enum TrainingStop
{
    /// <summary>All configured steps are done.</summary>
    Completed,

    /// <summary>The time limit was reached; a checkpoint holds the progress.</summary>
    TimeLimit,

    /// <summary>Cancelled (Ctrl+C); a checkpoint holds the progress.</summary>
    Cancelled,
}

/// <summary>The end of a training call: why it stopped, at which step, and where its outputs are.</summary>
public sealed record TrainingOutcome(TrainingStop Stop, long Step, string Checkpoint, string? LastSamples, string? LossPlot);
