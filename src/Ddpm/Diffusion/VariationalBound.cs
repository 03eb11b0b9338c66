using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>
/// The terms of the variational bound of Eq. (5) (Ho et al. 2020), in bits per dimension:
/// L = L_T + Σ_{t≥2} L_{t−1} + L_0 with
/// L_T = KL(q(x_T | x_0) ‖ N(0, I)), L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p_θ(x_{t−1} | x_t)) and
/// L_0 = −log p_θ(x_0 | x_1), the discretised decoder of Eq. (13).
/// Each term is a per-example mean over dimensions divided by ln 2, as the official <c>_vb_terms_bpd</c>, returned as a
/// float64 [B] tensor. Timesteps are 0-based: index t ≥ 1 is the paper's L_{t} (the KL at paper step t + 1), index 0 is L_0.
/// </summary>
/// <remarks>
/// <see cref="TermBits(Tensor, Tensor, Tensor, Tensor, Tensor)"/> takes p_θ's mean and log-variance as tensors, whatever
/// produced them (fixed or learned variances, any mean parameterisation), so a training loss can call it with a
/// stopped-gradient mean (the hybrid objective) or with everything differentiable (the true bound).
/// </remarks>
public sealed class VariationalBound(GaussianDiffusion diffusion)
{
    /// <summary>The process whose bound this is.</summary>
    public GaussianDiffusion Diffusion { get; } = diffusion ?? throw new ArgumentNullException(nameof(diffusion));

    /// <summary>
    /// L_T = KL(q(x_T | x_0) ‖ N(0, I)) in bits/dim per example: no parameters, about 1e-5 bits/dim under the linear
    /// schedule (§4). Evaluated in float64 from the float64 schedule (√ᾱ_T and log(1 − ᾱ_T)).
    /// </summary>
    public Tensor PriorBits(Tensor x0)
    {
        using var scope = NewDisposeScope();
        var s = Diffusion.Schedule;
        var last = s.Timesteps - 1;
        var mean = x0.to(ScalarType.Float64) * s.SqrtAlphasCumprod[last];
        using var logVariance = full(1, s.LogOneMinusAlphasCumprod[last], ScalarType.Float64, x0.device);
        using var zero = zeros(1, ScalarType.Float64, x0.device);
        var kl = GaussianMath.NormalKl(mean, logVariance, zero, zero);
        return GaussianMath.MeanBits(kl).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The bound's term at 0-based timesteps <paramref name="t"/> (one per example) in bits/dim, float64 [B]:
    /// KL(q(x_{t−1} | x_t, x_0) ‖ N(<paramref name="modelMean"/>, exp(<paramref name="modelLogVariance"/>))) where t ≥ 1, and
    /// the decoder's −log p_θ(x_0 | x_1) with log-scale ½·<paramref name="modelLogVariance"/> where t = 0.
    /// </summary>
    /// <param name="x0">The data, at bin centres in [−1, 1].</param>
    /// <param name="xt">x_t, drawn from q(x_t | x_0).</param>
    /// <param name="t">int64 [B] 0-based timesteps.</param>
    /// <param name="modelMean">μ_θ(x_t, t).</param>
    /// <param name="modelLogVariance">log σ_t², broadcastable to x_t.</param>
    public Tensor TermBits(Tensor x0, Tensor xt, Tensor t, Tensor modelMean, Tensor modelLogVariance)
    {
        using var scope = NewDisposeScope();
        var posterior = Diffusion.QPosteriorMeanVariance(x0, xt, t);
        var kl = GaussianMath.MeanBits(GaussianMath.NormalKl(posterior.Mean, posterior.LogVariance, modelMean, modelLogVariance));
        var decoderNll = -GaussianMath.MeanBits(DiscretizedGaussian.LogLikelihood(x0, modelMean, 0.5 * modelLogVariance));
        return where(t.eq(0L), decoderNll, kl).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The term for a network output: p_θ from <see cref="GaussianDiffusion.PMeanVariance(Tensor, Tensor, Tensor, bool)"/> (the model's mean type and
    /// variance type), then <see cref="TermBits(Tensor, Tensor, Tensor, Tensor, Tensor)"/>. x̂_0 is clipped to [−1, 1] when
    /// <paramref name="clipDenoised"/>, as the official <c>calc_bpd_loop</c> does by default.
    /// </summary>
    public BoundTerm Term(Tensor modelOutput, Tensor x0, Tensor xt, Tensor t, bool clipDenoised = true)
    {
        using var scope = NewDisposeScope();
        var p = Diffusion.PMeanVariance(modelOutput, xt, t, clipDenoised);
        var bits = TermBits(x0, xt, t, p.Mean, p.LogVariance);
        return new BoundTerm(bits.MoveToOuterDisposeScope(), p.PredictedStart.MoveToOuterDisposeScope());
    }
}

/// <summary>One term of the bound per example (float64 [B] bits/dim) and the x̂_0 the model implied.</summary>
public sealed record BoundTerm(Tensor Bits, Tensor PredictedStart);
