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
    private readonly GaussianDiffusion original;
    private readonly GaussianDiffusion respaced;
    private readonly DenoisedHandling denoised;
    private readonly bool startFromOriginal;

    /// <summary>A sampler for models trained on <paramref name="diffusion"/>.</summary>
    /// <exception cref="ArgumentException">A learned variance asked of a model that does not output one.</exception>
    public DdpmSampler(GaussianDiffusion diffusion, DdpmSamplerOptions? options = null)
        : base(ChooseTimesteps(diffusion, options ?? new DdpmSamplerOptions()))
    {
        options ??= new DdpmSamplerOptions();
        denoised = options.Denoised;
        original = diffusion;
        var variance = options.VarianceType ?? diffusion.VarianceType;
        if (variance.IsLearned() && variance != diffusion.VarianceType)
            throw new ArgumentException($"The model's variance is {ObjectiveNames.Of(diffusion.VarianceType)}; it cannot sample with a {ObjectiveNames.Of(variance)} variance.");
        // A μ̃-predicting model predicts the mean of x_{t−1} on the training chain: on a respaced chain its x̂_0 is taken
        // from the training chain and the respaced posterior is formed from it (improved-diffusion would misread it).
        startFromOriginal = diffusion.MeanType == ModelMeanType.PreviousX && TimestepArray.Length != diffusion.Timesteps;
        respaced = new GaussianDiffusion(diffusion.Schedule.Respace(TimestepArray), startFromOriginal ? ModelMeanType.StartX : diffusion.MeanType, variance);
    }

    /// <inheritdoc />
    public override bool AddsNoise(int timestep) => PositionOf(timestep) < TimestepArray.Length - 1;

    /// <inheritdoc />
    public override StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null)
    {
        using var scope = NewDisposeScope();
        var output = modelOutput.to(sample.dtype);
        using (original.MeanOutput(output, sample)) { } // checks the output's shape
        if (startFromOriginal)
        {
            var x0 = original.PredictStart(output, sample, GaussianDiffusion.TimestepTensor(timestep, sample.shape[0]));
            output = original.LearnsVariance ? cat([x0, original.VarianceOutput(output, sample)], 1) : x0;
        }
        else if (original.LearnsVariance && !respaced.LearnsVariance)
        {
            output = original.MeanOutput(output, sample); // a fixed variance asked of a model that learned one
        }
        // Index on the respaced chain: the last step visited is index 0.
        var index = TimestepArray.Length - 1 - PositionOf(timestep);
        using var t = GaussianDiffusion.TimestepTensor(index, sample.shape[0]);
        var p = respaced.PMeanVariance(output, sample, t, denoised);
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
