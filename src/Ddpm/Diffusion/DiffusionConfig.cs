using Ddpm.Schedules;

namespace Ddpm.Diffusion;

/// <summary>The diffusion process a model is trained for. Defaults are the paper's CIFAR-10 setting (Ho et al. 2020, §4).</summary>
public sealed record DiffusionConfig
{
    /// <summary>β schedule and chain length. Paper: linear 1e-4 → 0.02, T = 1000.</summary>
    public ScheduleConfig Schedule { get; init; } = new();

    /// <summary>What the network predicts. Paper: ε (§3.2, "ε-prediction" with L_simple).</summary>
    public ModelMeanType MeanType { get; init; } = ModelMeanType.Epsilon;

    /// <summary>σ_t². Paper: β_t and β̃_t give similar results (§3.2); the official CIFAR-10 run used β_t (fixed-large).</summary>
    public ModelVarianceType VarianceType { get; init; } = ModelVarianceType.FixedLarge;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public DiffusionConfig Validate()
    {
        Schedule.Validate();
        if (!Enum.IsDefined(MeanType)) throw new ArgumentException($"Unknown model mean type {MeanType}.");
        if (!Enum.IsDefined(VarianceType)) throw new ArgumentException($"Unknown model variance type {VarianceType}.");
        return this;
    }
}
