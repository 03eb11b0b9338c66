using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>
/// The decoder of Eq. (13) (Ho et al. 2020, §3.3): image data are 256 integer levels scaled to [−1, 1], so a pixel at
/// level k sits at x = k/127.5 − 1 and owns the bin [x − 1/255, x + 1/255] of width 2/255; the two outer bins are open to
/// −∞ (x = −1) and +∞ (x = 1). A Gaussian N(μ, σ²) gives each bin the mass of its interval, so the 256 probabilities
/// sum to 1 for any μ and σ.
/// </summary>
/// <remarks>
/// Safeguards, against the official <c>discretized_gaussian_log_likelihood</c> (diffusion_utils_2.py), which evaluates
/// the tanh approximation of Φ in float32 and clamps every probability at 1e-12 before the log:
/// <list type="bullet">
/// <item>Φ is exact (<see cref="GaussianMath.LogNormalCdf"/>, float64), never approximated.</item>
/// <item>Lower outer bin: log Φ(plus) directly in log space (the official code's <c>log_cdf_plus</c>).</item>
/// <item>Upper outer bin: log(1 − Φ(min)) = log Φ(−min) (the official <c>log_one_minus_cdf_min</c>), no cancellation.</item>
/// <item>Inner bins: log(Φ(b) − Φ(a)) = log Φ(b) + log(−expm1(log Φ(a) − log Φ(b))), with the bin first reflected
/// through 0 when its centre lies above the mean (Φ(b) − Φ(a) = Φ(−a) − Φ(−b)), so both CDFs are at most ½ + ε and
/// no difference of two numbers near 1 is formed; the far tails stay accurate instead of collapsing to 0.</item>
/// <item>As the official code, every probability is floored at <see cref="MinProbability"/> (1e-12) before the log,
/// which bounds a pixel's −log p at 27.6 nats (39.9 bits) and keeps the result finite for any finite μ and log σ,
/// including ±∞ standardised bin edges.</item>
/// </list>
/// </remarks>
public static class DiscretizedGaussian
{
    /// <summary>Pixel levels of 8-bit data.</summary>
    public const int Levels = 256;

    /// <summary>Half the width 2/255 of a bin.</summary>
    public const double HalfBinWidth = 1.0 / 255.0;

    /// <summary>Centres above this (and below its negative) are the open outer bins, as the official code's ±0.999.</summary>
    public const double OuterBinThreshold = 0.999;

    /// <summary>The floor on every bin probability before its log, the official code's 1e-12.</summary>
    public const double MinProbability = 1e-12;

    /// <summary>
    /// log p(x) per element in nats, float64, for data <paramref name="x"/> at bin centres in [−1, 1] under
    /// N(<paramref name="means"/>, exp(<paramref name="logScales"/>)²) discretised as above. Arguments broadcast.
    /// </summary>
    public static Tensor LogLikelihood(Tensor x, Tensor means, Tensor logScales)
    {
        using var scope = NewDisposeScope();
        var x64 = x.to(ScalarType.Float64);
        var centered = x64 - means.to(ScalarType.Float64);
        var invStd = (-logScales.to(ScalarType.Float64)).exp();
        var plus = invStd * (centered + HalfBinWidth);
        var min = invStd * (centered - HalfBinWidth);
        // Standardised edges of ±∞ (zero scale) become ±large finite values, so every log-CDF below is finite.
        plus = plus.nan_to_num(0.0, double.MaxValue, -double.MaxValue);
        min = min.nan_to_num(0.0, double.MaxValue, -double.MaxValue);

        var logCdfPlus = GaussianMath.LogNormalCdf(plus);
        var logOneMinusCdfMin = GaussianMath.LogNormalCdf(-min);

        var reflect = (plus + min).gt(0.0);
        var high = where(reflect, -min, plus);
        var low = where(reflect, -plus, min);
        var logHigh = GaussianMath.LogNormalCdf(high);
        var logLow = GaussianMath.LogNormalCdf(low);
        // The factor is floored too: Φ(high) ≤ 1, so a floored factor lands below the final floor and changes nothing,
        // but no log(0) (and no infinite gradient through the unselected branch of the where below) is ever formed.
        var logDelta = logHigh + (-special.expm1(logLow - logHigh)).clamp_min(MinProbability).log();

        var logProbs = where(x64.lt(-OuterBinThreshold), logCdfPlus, where(x64.gt(OuterBinThreshold), logOneMinusCdfMin, logDelta));
        return logProbs.clamp_min(Math.Log(MinProbability)).MoveToOuterDisposeScope();
    }

    /// <summary>The 256 bin centres k/127.5 − 1, k = 0..255, as a float64 tensor.</summary>
    public static Tensor BinCentres() => arange(0, Levels, dtype: ScalarType.Float64) / 127.5 - 1.0;
}
