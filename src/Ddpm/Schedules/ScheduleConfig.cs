namespace Ddpm.Schedules;

/// <summary>The forward process's variance schedule. Defaults are the paper's (Ho et al. 2020, §4).</summary>
public sealed record ScheduleConfig
{
    /// <summary>Shape of β. Paper: linear.</summary>
    public BetaScheduleKind Kind { get; init; } = BetaScheduleKind.Linear;

    /// <summary>Length T of the diffusion chain. Paper: T = 1000.</summary>
    public int Timesteps { get; init; } = 1000;

    /// <summary>β_1. Paper: 1e-4.</summary>
    public double BetaStart { get; init; } = 1e-4;

    /// <summary>β_T. Paper: 0.02.</summary>
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the values cannot make a schedule.</summary>
    public ScheduleConfig Validate()
    {
        if (Timesteps < 1) throw new ArgumentException($"timesteps must be at least 1 (got {Timesteps}).");
        if (Kind != BetaScheduleKind.Cosine)
        {
            if (!(BetaStart > 0 && BetaStart < 1)) throw new ArgumentException($"beta-start must lie in (0, 1) (got {BetaStart}).");
            if (!(BetaEnd > 0 && BetaEnd < 1)) throw new ArgumentException($"beta-end must lie in (0, 1) (got {BetaEnd}).");
            if (BetaEnd < BetaStart) throw new ArgumentException($"beta-end ({BetaEnd}) must not be below beta-start ({BetaStart}).");
        }
        return this;
    }
}
