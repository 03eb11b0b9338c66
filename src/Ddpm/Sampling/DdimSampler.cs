using System.Text.Json.Serialization;
using Ddpm.Diffusion;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>Options of the DDIM sampler (Song, Meng &amp; Ermon 2021).</summary>
public sealed record DdimSamplerOptions
{
    /// <summary>Sampling steps. 50 is a common quality/speed trade-off (Song et al. 2021, Table 1).</summary>
    public int Steps { get; init; } = 50;

    /// <summary>η: 0 is deterministic DDIM, 1 matches DDPM's posterior variance (Song et al. 2021, Eq. 16).</summary>
    public double Eta { get; init; }

    /// <summary>Which timesteps are visited. Default leading, DDIM's uniform skip and diffusers' default.</summary>
    public TimestepSpacing Spacing { get; init; } = TimestepSpacing.Leading;

    /// <summary>Offset added to leading timesteps (diffusers' <c>steps_offset</c>).</summary>
    public int StepsOffset { get; init; }

    /// <summary>What is done to x̂_0 (and whether ε̂ follows it). Clip with the model's ε̂, as diffusers' default.</summary>
    public DenoisedHandling Denoised { get; init; } = DenoisedHandling.Clip;

    /// <summary>Clip x̂_0 to [−1, 1] (<see cref="DenoisedHandling.Clip"/>) or not (<see cref="DenoisedHandling.None"/>); kept for existing callers.</summary>
    [JsonIgnore]
    public bool ClipDenoised
    {
        get => Denoised != DenoisedHandling.None;
        init => Denoised = value ? DenoisedHandling.Clip : DenoisedHandling.None;
    }

    /// <summary>ᾱ after the last step: 1 (true, diffusers' <c>set_alpha_to_one</c>) or ᾱ at index 0 (false).</summary>
    public bool FinalAlphaCumprodIsOne { get; init; } = true;
}

/// <summary>
/// DDIM (Song, Meng &amp; Ermon 2021, Eq. 12): x_{t−1} = √ᾱ_{t−1} x̂_0 + √(1 − ᾱ_{t−1} − σ_t²) ε̂ + σ_t z,
/// σ_t = η √((1 − ᾱ_{t−1})/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_{t−1}); any number of steps.
/// ε̂ is the noise implied by the model's unprocessed output, as diffusers, or by the processed x̂_0 when
/// <see cref="DdimSamplerOptions.Denoised"/> says so (<see cref="DenoisedProcessing.RecomputesNoise"/>).
/// </summary>
public sealed class DdimSampler : SamplerBase
{
    private readonly GaussianDiffusion diffusion;
    private readonly DdimSamplerOptions options;

    /// <summary>A sampler for models trained on <paramref name="diffusion"/>.</summary>
    public DdimSampler(GaussianDiffusion diffusion, DdimSamplerOptions? options = null)
        : base(SamplingTimesteps.Create((options ?? new()).Spacing, diffusion.Timesteps, (options ?? new()).Steps, (options ?? new()).StepsOffset))
    {
        this.options = options ?? new DdimSamplerOptions();
        if (!(this.options.Eta >= 0)) throw new ArgumentOutOfRangeException(nameof(options), this.options.Eta, "eta must be non-negative.");
        this.diffusion = diffusion;
    }

    /// <inheritdoc />
    public override bool AddsNoise(int timestep) => Sigma(timestep) > 0;

    /// <inheritdoc />
    public override StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null)
    {
        using var scope = NewDisposeScope();
        // A learned variance's channels are not used: DDIM fixes its own σ (as diffusers).
        var output = diffusion.MeanOutput(modelOutput, sample).to(sample.dtype);
        var (_, abPrev) = AlphaBars(timestep);
        using var t = GaussianDiffusion.TimestepTensor(timestep, sample.shape[0]);
        var predicted = diffusion.PredictStart(modelOutput.to(sample.dtype), sample, t);
        var x0 = options.Denoised.Apply(predicted);
        var eps = options.Denoised.RecomputesNoise() ? diffusion.PredictNoiseFromStart(sample, t, x0)
            : diffusion.MeanType == ModelMeanType.Epsilon ? output
            : diffusion.PredictNoiseFromStart(sample, t, predicted);
        var sigma = Sigma(timestep);
        var direction = eps * Math.Sqrt(Math.Max(1.0 - abPrev - sigma * sigma, 0.0));
        var previous = x0 * Math.Sqrt(abPrev) + direction;
        if (sigma > 0) previous = previous + StepNoise(sample, generator, noise) * sigma;
        return new StepResult(previous.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }

    private (double AlphaBar, double AlphaBarPrev) AlphaBars(int timestep)
    {
        var ab = diffusion.Schedule.AlphasCumprod;
        var prev = PreviousTimestep(timestep);
        var abPrev = prev >= 0 ? ab[prev] : options.FinalAlphaCumprodIsOne ? 1.0 : ab[0];
        return (ab[timestep], abPrev);
    }

    private double Sigma(int timestep)
    {
        if (options.Eta == 0) return 0;
        var (abT, abPrev) = AlphaBars(timestep);
        var variance = (1 - abPrev) / (1 - abT) * (1 - abT / abPrev);
        return options.Eta * Math.Sqrt(Math.Max(variance, 0.0));
    }
}
