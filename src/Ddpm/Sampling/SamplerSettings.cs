using System.Text.Json.Serialization;
using Ddpm.Diffusion;

namespace Ddpm.Sampling;

/// <summary>The samplers the CLI and <see cref="DiffusionModel"/> offer by name.</summary>
public enum SamplerKind
{
    /// <summary>Ancestral sampling, Algorithm 2 (respaced when fewer steps than T).</summary>
    Ddpm,

    /// <summary>DDIM (Song et al. 2021).</summary>
    Ddim,
}

/// <summary>A sampler chosen by settings: kind, steps, η and spacing.</summary>
public sealed record SamplerSettings
{
    /// <summary>Which sampler.</summary>
    public SamplerKind Kind { get; init; } = SamplerKind.Ddpm;

    /// <summary>Sampling steps; null for the default (T for DDPM, 50 for DDIM).</summary>
    public int? Steps { get; init; }

    /// <summary>DDIM's η (ignored by DDPM).</summary>
    public double Eta { get; init; }

    /// <summary>Timestep spacing; null for the sampler's default (linspace for respaced DDPM, leading for DDIM).</summary>
    public TimestepSpacing? Spacing { get; init; }

    /// <summary>What is done to x̂_0 at every step: clip by default, as the official code and diffusers.</summary>
    public DenoisedHandling Denoised { get; init; } = DenoisedHandling.Clip;

    /// <summary>Clip x̂_0 to [−1, 1] (<see cref="DenoisedHandling.Clip"/>) or not (<see cref="DenoisedHandling.None"/>); kept for existing callers.</summary>
    [JsonIgnore]
    public bool ClipDenoised
    {
        get => Denoised != DenoisedHandling.None;
        init => Denoised = value ? DenoisedHandling.Clip : DenoisedHandling.None;
    }

    /// <summary>DDPM with the full chain.</summary>
    public static SamplerSettings Ddpm(int? steps = null) => new() { Kind = SamplerKind.Ddpm, Steps = steps };

    /// <summary>DDIM with <paramref name="steps"/> steps and η.</summary>
    public static SamplerSettings Ddim(int steps = 50, double eta = 0) => new() { Kind = SamplerKind.Ddim, Steps = steps, Eta = eta };

    /// <summary>Builds the sampler for a diffusion process. Dispose it if it is <see cref="IDisposable"/>.</summary>
    public ISampler Create(GaussianDiffusion diffusion) => Kind switch
    {
        SamplerKind.Ddpm => new DdpmSampler(diffusion, new DdpmSamplerOptions
        {
            Steps = Steps,
            Spacing = Spacing ?? TimestepSpacing.Linspace,
            Denoised = Denoised,
        }),
        SamplerKind.Ddim => new DdimSampler(diffusion, new DdimSamplerOptions
        {
            Steps = Steps ?? 50,
            Eta = Eta,
            Spacing = Spacing ?? TimestepSpacing.Leading,
            Denoised = Denoised,
        }),
        _ => throw new InvalidOperationException($"Unknown sampler {Kind}."),
    };
}
