using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>What a sampler does with the predicted x̂_0 before it forms the next sample.</summary>
public enum DenoisedHandling
{
    /// <summary>Use x̂_0 as predicted (no clipping).</summary>
    None,

    /// <summary>
    /// Clip x̂_0 to [−1, 1] (Ho et al. 2020's official code, diffusers' <c>clip_sample</c>). DDIM keeps the model's ε̂,
    /// as diffusers' <c>DDIMScheduler</c>, so its two terms disagree where x̂_0 was clipped.
    /// </summary>
    Clip,

    /// <summary>
    /// Clip x̂_0 to [−1, 1] and recompute ε̂ from the clipped x̂_0 (Eq. 4 solved for ε), so DDIM's step is consistent:
    /// lucidrains/denoising-diffusion-pytorch's <c>rederive_pred_noise</c>. For DDPM the same as <see cref="Clip"/>, whose
    /// posterior mean (Eq. 7) uses x̂_0 and x_t only.
    /// </summary>
    ClipRecomputeEps,

    /// <summary>
    /// Dynamic thresholding (Saharia et al. 2022, Imagen, §2.3): per image, s = max(1, the 99.5th percentile of |x̂_0|),
    /// x̂_0 ← clamp(x̂_0, −s, s) / s, as diffusers' <c>_threshold_sample</c> without its upper bound on s.
    /// DDIM recomputes ε̂ from the thresholded x̂_0, as <see cref="ClipRecomputeEps"/>.
    /// </summary>
    DynamicThreshold,
}

/// <summary>The x̂_0 processing of <see cref="DenoisedHandling"/>.</summary>
public static class DenoisedProcessing
{
    /// <summary>Percentile of |x̂_0| that sets the dynamic threshold. Imagen (Saharia et al. 2022) and diffusers: 0.995.</summary>
    public const double DynamicThresholdPercentile = 0.995;

    /// <summary>Whether a DDIM step takes ε̂ from the processed x̂_0 rather than from the model.</summary>
    public static bool RecomputesNoise(this DenoisedHandling handling) =>
        handling is DenoisedHandling.ClipRecomputeEps or DenoisedHandling.DynamicThreshold;

    /// <summary>The processed x̂_0 [N, …] (a new tensor; <paramref name="x0"/> is not changed).</summary>
    public static Tensor Apply(this DenoisedHandling handling, Tensor x0) => handling switch
    {
        DenoisedHandling.None => x0.alias(),
        DenoisedHandling.Clip or DenoisedHandling.ClipRecomputeEps => x0.clamp(-1.0, 1.0),
        DenoisedHandling.DynamicThreshold => DynamicThreshold(x0, DynamicThresholdPercentile),
        _ => throw new ArgumentOutOfRangeException(nameof(handling), handling, "Unknown x̂0 handling."),
    };

    /// <summary>
    /// Dynamic thresholding of each image of <paramref name="x0"/> [N, …]: s = max(1, quantile(|x̂_0|, <paramref name="percentile"/>))
    /// over the image's elements (linear interpolation, as <c>torch.quantile</c>), then clamp to [−s, s] and divide by s.
    /// </summary>
    public static Tensor DynamicThreshold(Tensor x0, double percentile)
    {
        using var scope = NewDisposeScope();
        var n = x0.shape[0];
        var flat = x0.reshape(n, -1);
        // Computed in float32 at least: quantile is not defined for bfloat16.
        var dtype = flat.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var magnitude = flat.abs().to(dtype);
        var q = tensor(percentile, dtype: dtype, device: x0.device);
        var s = magnitude.quantile(q, dim: 1, keepdim: true).clamp_min(1.0).to(x0.dtype);
        var result = flat.clamp(-s, s) / s;
        return result.reshape(x0.shape).MoveToOuterDisposeScope();
    }
}
