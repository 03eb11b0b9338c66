using Ddpm.Runtime;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Mean and standard deviation of a metric over subsets or splits.</summary>
public sealed record MeanStd(double Mean, double Std);

/// <summary>
/// KID (Bińkowski et al. 2018): the unbiased estimate of MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³,
/// averaged over random subsets, in float64, as torchmetrics' <c>KernelInceptionDistance</c> and clean-fid compute it.
/// </summary>
/// <remarks>
/// Each subset draws min(<c>subsetSize</c>, n, m) rows without replacement from each set, from a generator seeded with
/// <c>seed</c>. The standard deviation is the population one over subsets (ddof 0, torchmetrics' <c>std(unbiased=False)</c>).
/// The value is MMD² itself (clean-fid and torchmetrics report it so; some papers quote it × 1000).
/// </remarks>
public static class KernelInceptionDistance
{
    /// <summary>KID mean ± std over <paramref name="subsets"/> subsets.</summary>
    public static MeanStd Compute(FeatureSet reference, FeatureSet generated, int subsets = 100, int subsetSize = 1000, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(generated);
        if (reference.Dimension != generated.Dimension)
            throw new ArgumentException($"Feature dimensions differ: {reference.Dimension} and {generated.Dimension}.", nameof(generated));
        ArgumentOutOfRangeException.ThrowIfLessThan(subsets, 1);
        var m = Math.Min(subsetSize, Math.Min(reference.Count, generated.Count));
        if (m < 2) throw new ArgumentException($"KID needs at least 2 images in each set, got {reference.Count} and {generated.Count}.");
        using var scope = NewDisposeScope();
        var x = reference.FeaturesTensor(ScalarType.Float64);
        var y = generated.FeaturesTensor(ScalarType.Float64);
        using var g = new Generator((ulong)seed);
        var values = new double[subsets];
        for (var s = 0; s < subsets; s++)
        {
            using (NewDisposeScope())
            {
                var xs = x.index_select(0, randperm(reference.Count, generator: g).narrow(0, 0, m));
                var ys = y.index_select(0, randperm(generated.Count, generator: g).narrow(0, 0, m));
                values[s] = UnbiasedMmd2(xs, ys);
            }
            CpuTuning.EndStep(); // see PrecisionRecall.Radii
        }
        var mean = values.Average();
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / subsets);
        return new MeanStd(mean, std);
    }

    /// <summary>
    /// The unbiased MMD² of two equally sized samples [m, d]: (Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)) / (m(m − 1)) − 2 Σ_{i,j} k(xᵢ,yⱼ) / m²
    /// (Gretton et al. 2012, Eq. 3 with the cross term's mean over all pairs, as clean-fid and torchmetrics).
    /// </summary>
    public static double UnbiasedMmd2(Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var m = x.shape[0];
        var d = x.shape[1];
        var kxx = Kernel(x, x, d);
        var kyy = Kernel(y, y, d);
        var kxy = Kernel(x, y, d);
        var sameX = kxx.sum().item<double>() - kxx.diagonal().sum().item<double>();
        var sameY = kyy.sum().item<double>() - kyy.diagonal().sum().item<double>();
        return (sameX + sameY) / (m * (m - 1.0)) - 2 * kxy.sum().item<double>() / ((double)m * m);
    }

    private static Tensor Kernel(Tensor a, Tensor b, long d) => a.matmul(b.mT).div_(d).add_(1).pow_(3);
}
