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
/// including scales so small that the standardised bin edges overflow.</item>
/// </list>
/// </remarks>
public static class DiscretizedGaussian
{
    /// <summary>Pixel levels of 8-bit data.</summary>
    public const int Levels = 256;

    /// <summary>Half the width 2/255 of a bin.</summary>
    public const double HalfBinWidth = 1.0 / 255.0;

    /// <summary>The floor on every bin probability before its log, the official code's 1e-12.</summary>
    public const double MinProbability = 1e-12;

    /// <summary>Standardised bin edges are clipped to ±this (see <see cref="LogLikelihood"/>).</summary>
    private const double MaxStandardizedEdge = 1e150;

    /// <summary>
    /// log p(x) per element in nats, float64, for data <paramref name="x"/> at bin centres in [−1, 1] (other values are
    /// taken as the nearest centre; the official code's ±0.999 test for the outer bins is the same thing) under
    /// N(<paramref name="means"/>, exp(<paramref name="logScales"/>)²) discretised as above. Arguments broadcast.
    /// </summary>
    public static Tensor LogLikelihood(Tensor x, Tensor means, Tensor logScales)
    {
        using var scope = NewDisposeScope();
        // The bin's level k = 127.5 (x + 1), and its edges (2k ∓ 1)/255 − 1 from k: neighbouring bins then share the very
        // same double as their common edge, so the 256 masses telescope to 1 even when the mean sits on an edge and σ → 0.
        var level = ((x.to(ScalarType.Float64) + 1.0) * 127.5).round().clamp(0.0, Levels - 1);
        var mean = means.to(ScalarType.Float64);
        var invStd = (-logScales.to(ScalarType.Float64)).exp();
        var plus = ((2.0 * level + 1.0) / 255.0 - 1.0 - mean) * invStd;
        var min = ((2.0 * level - 1.0) / 255.0 - 1.0 - mean) * invStd;
        // Standardised edges beyond ±1e150 (a scale that underflows) are clipped there, so x² and every log-CDF below stay
        // finite and no ∞ − ∞ arises; Φ(±1e150) is 0 or 1 to every digit a double holds. (0·∞ at an edge on the mean is 0.)
        plus = plus.nan_to_num(0.0).clamp(-MaxStandardizedEdge, MaxStandardizedEdge);
        min = min.nan_to_num(0.0).clamp(-MaxStandardizedEdge, MaxStandardizedEdge);
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

        var logProbs = where(level.eq(0.0), logCdfPlus, where(level.eq(Levels - 1), logOneMinusCdfMin, logDelta));
        return logProbs.clamp_min(Math.Log(MinProbability)).MoveToOuterDisposeScope();
    }

    /// <summary>The 256 bin centres k/127.5 − 1, k = 0..255, as a float64 tensor.</summary>
    public static Tensor BinCentres() => arange(0, Levels, dtype: ScalarType.Float64) / 127.5 - 1.0;
}
