namespace Ddpm.Checkpoints;

/// <summary>
/// The non-tensor state of a training run at a checkpoint (<c>state.json</c>): the step, the data loader's position,
/// and the random streams (timesteps and noise, dropout), so that training resumes bit-identically.
/// </summary>
public sealed record TrainingState
{
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; init; }

    /// <summary>Data loader epoch.</summary>
    public long LoaderEpoch { get; init; }

    /// <summary>Position of the next image within the loader's epoch.</summary>
    public int LoaderOffset { get; init; }

    /// <summary>State of the trainer's generator (timesteps and noise), base64.</summary>
    public string TrainGeneratorState { get; init; } = "";

    /// <summary>Seed of the dropout stream (<see cref="Models.DropoutStream"/>).</summary>
    public long DropoutSeed { get; init; }

    /// <summary>Draws the dropout stream has made.</summary>
    public long DropoutPosition { get; init; }

    /// <summary>Images seen so far.</summary>
    public long ImagesSeen { get; init; }

    /// <summary>Training wall time so far, in seconds (excluding sampling and checkpoint writing).</summary>
    public double TrainSeconds { get; init; }

    /// <summary>The importance sampler's loss history (T × 10, row-major), when the run samples timesteps by importance.</summary>
    public double[]? LossHistory { get; init; }

    /// <summary>How many of each timestep's history slots are filled.</summary>
    public int[]? LossHistoryCounts { get; init; }

    /// <summary>Mean loss over the last logging window, for <c>ddpm info</c>.</summary>
    public double? RecentLoss { get; init; }
}
