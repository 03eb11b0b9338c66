using System.Text.Json.Serialization;
using Ddpm.Diffusion;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>Options of the ancestral DDPM sampler.</summary>
public sealed record DdpmSamplerOptions
{
    /// <summary>Sampling steps; null for the full chain of T steps (Algorithm 2). Fewer steps respace the chain (Nichol &amp; Dhariwal 2021, §4).</summary>
    public int? Steps { get; init; }

    /// <summary>Which timesteps a respaced chain keeps. Default: evenly spaced over the whole chain, as Nichol &amp; Dhariwal.</summary>
    public TimestepSpacing Spacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>What is done to x̂_0 before forming the posterior mean. Clip, as the official code.</summary>
    public DenoisedHandling Denoised { get; init; } = DenoisedHandling.Clip;

    /// <summary>Clip x̂_0 to [−1, 1] (<see cref="DenoisedHandling.Clip"/>) or not (<see cref="DenoisedHandling.None"/>); kept for existing callers.</summary>
    [JsonIgnore]
    public bool ClipDenoised
    {
        get => Denoised != DenoisedHandling.None;
        init => Denoised = value ? DenoisedHandling.Clip : DenoisedHandling.None;
    }

    /// <summary>σ_t²; null to use the diffusion's own choice.</summary>
    public ModelVarianceType? VarianceType { get; init; }
}

/// <summary>
/// Ancestral sampling, Algorithm 2 of Ho et al. 2020: x_{t−1} = μ̃_t(x_t, x̂_0) + σ_t z, with z ~ N(0, I) at every step but the last.
/// With fewer steps than T it runs the respaced chain whose ᾱ agree with the original at the kept timesteps.
/// </summary>
public sealed class DdpmSampler : SamplerBase, IDisposable
{
    private readonly GaussianDiffusion respaced;
    private readonly DenoisedHandling denoised;

    /// <summary>A sampler for models trained on <paramref name="diffusion"/>.</summary>
    public DdpmSampler(GaussianDiffusion diffusion, DdpmSamplerOptions? options = null)
        : base(ChooseTimesteps(diffusion, options ?? new DdpmSamplerOptions()))
    {
        options ??= new DdpmSamplerOptions();
        denoised = options.Denoised;
        respaced = new GaussianDiffusion(diffusion.Schedule.Respace(TimestepArray), diffusion.MeanType, options.VarianceType ?? diffusion.VarianceType);
    }

    /// <inheritdoc />
    public override bool AddsNoise(int timestep) => PositionOf(timestep) < TimestepArray.Length - 1;

    /// <inheritdoc />
    public override StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null)
    {
        CheckShapes(modelOutput, sample);
        using var scope = NewDisposeScope();
        // Index on the respaced chain: the last step visited is index 0.
        var index = TimestepArray.Length - 1 - PositionOf(timestep);
        using var t = GaussianDiffusion.TimestepTensor(index, sample.shape[0]);
        var p = respaced.PMeanVariance(modelOutput.to(sample.dtype), sample, t, denoised);
        var previous = p.Mean;
        if (AddsNoise(timestep))
        {
            var z = StepNoise(sample, generator, noise);
            previous = previous + (p.LogVariance * 0.5).exp() * z;
        }
        return new StepResult(previous.MoveToOuterDisposeScope(), p.PredictedStart.MoveToOuterDisposeScope());
    }

    private static int[] ChooseTimesteps(GaussianDiffusion diffusion, DdpmSamplerOptions options)
    {
        var steps = options.Steps ?? diffusion.Timesteps;
        return steps == diffusion.Timesteps
            ? Enumerable.Range(0, steps).Reverse().ToArray()
            : SamplingTimesteps.Create(options.Spacing, diffusion.Timesteps, steps);
    }

    /// <inheritdoc />
    public void Dispose() => respaced.Dispose();
}
