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

    private const double LogSqrt2Pi = 0.91893853320467274178;

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

    /// <summary>Below this, <see cref="LogNormalCdf"/> uses the asymptotic series (as SciPy's <c>log_ndtr</c>).</summary>
    public const double LowerTailStart = -20.0;

    /// <summary>
    /// log Φ(x), the log of the standard normal CDF, in float64 and finite for every finite x (as SciPy's <c>log_ndtr</c>):
    /// for x ≥ 0 as log1p(−½ erfc(x/√2)) (no cancellation near 1); for −20 ≤ x &lt; 0 as log(½ erfc(−x/√2));
    /// below −20, where erfc would underflow, by the asymptotic (Mills' ratio) series
    /// log Φ(x) = −x²/2 − log(−x) − ½ log 2π + log(1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸), whose next term is below 1e-10.
    /// (libtorch's <c>erfcx</c> is not used: through TorchSharp 0.107 it returns erfc, not the scaled function.)
    /// </summary>
    public static Tensor LogNormalCdf(Tensor x)
    {
        using var scope = NewDisposeScope();
        var z = x.to(ScalarType.Float64);
        var upperZ = z.clamp_min(0.0);
        var upper = (-0.5 * (upperZ / Sqrt2).erfc()).log1p();
        var middleZ = z.clamp(LowerTailStart, 0.0);
        var middle = (0.5 * (-middleZ / Sqrt2).erfc()).log();
        var tailZ = z.clamp_max(LowerTailStart);
        var r = tailZ.square().reciprocal();
        var series = 1.0 - r * (1.0 - r * (3.0 - r * (15.0 - 105.0 * r)));
        var tail = -0.5 * tailZ.square() - (-tailZ).log() - LogSqrt2Pi + series.log();
        return where(z.lt(LowerTailStart), tail, where(z.lt(0.0), middle, upper)).MoveToOuterDisposeScope();
    }

    /// <summary>Per-example mean over every dimension but the first, in bits: <c>mean_flat(x) / ln 2</c>.</summary>
    public static Tensor MeanBits(Tensor nats) => nats.flatten(1).mean([1]) / Ln2;
}
