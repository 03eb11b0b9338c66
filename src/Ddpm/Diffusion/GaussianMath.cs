using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>
/// Closed forms for diagonal Gaussians used by the variational bound (Ho et al. 2020, §3 and Eq. 5), elementwise and in
/// float64 whatever the inputs' type, so that terms of order 1e-5 (the prior L_T) and sums over a thousand timesteps
/// keep their digits.
/// </summary>
public static class GaussianMath
{
    /// <summary>ln 2, to turn nats into bits.</summary>
    public const double Ln2 = 0.69314718055994530942;

    private const double Sqrt2 = 1.41421356237309504880;

    /// <summary>
    /// KL(N(μ₁, e^{v₁}) ‖ N(μ₂, e^{v₂})) per element, in nats:
    /// ½ (v₂ − v₁ + e^{v₁ − v₂} − 1 + (μ₁ − μ₂)² e^{−v₂}). The variance part is evaluated as expm1(d) − d with
    /// d = v₁ − v₂, which is exact to rounding when the variances are close (the official <c>normal_kl</c> forms
    /// −1 + … + exp(d) and loses digits there). Arguments broadcast against each other.
    /// </summary>
    public static Tensor NormalKl(Tensor mean1, Tensor logVariance1, Tensor mean2, Tensor logVariance2)
    {
        using var scope = NewDisposeScope();
        var m1 = mean1.to(ScalarType.Float64);
        var m2 = mean2.to(ScalarType.Float64);
        var v1 = logVariance1.to(ScalarType.Float64);
        var v2 = logVariance2.to(ScalarType.Float64);
        var d = v1 - v2;
        var kl = 0.5 * (special.expm1(d) - d + (m1 - m2).square() * (-v2).exp());
        return kl.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// log Φ(x), the log of the standard normal CDF, in float64 and finite for every finite x:
    /// for x &lt; 0 through the scaled complementary error function, log Φ(x) = log erfcx(−x/√2) − x²/2 − ln 2
    /// (no underflow in the lower tail); for x ≥ 0 as log1p(−Φ(−x)) (no cancellation near 1).
    /// </summary>
    public static Tensor LogNormalCdf(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = x.to(ScalarType.Float64);
        var negative = z.lt(0.0);
        var lowerZ = z.clamp_max(0.0);
        var lower = special.erfcx(-lowerZ / Sqrt2).log() - 0.5 * lowerZ.square() - Ln2;
        var upperZ = z.clamp_min(0.0);
        var upper = (-0.5 * special.erfc(upperZ / Sqrt2)).log1p();
        return where(negative, lower, upper).MoveToOuterDisposeScope();
    }

    /// <summary>Per-example mean over every dimension but the first, in bits: <c>mean_flat(x) / ln 2</c>.</summary>
    public static Tensor MeanBits(Tensor nats) => nats.flatten(1).mean([1]) / Ln2;
}
