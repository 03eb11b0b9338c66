using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, FID):
/// ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}, all in float64.
/// </summary>
/// <remarks>
/// pytorch-fid takes <c>scipy.linalg.sqrtm(Σ₁Σ₂)</c> (a Schur method on a non-symmetric product) and, when that fails,
/// retries with ε·I added. Here the trace comes from two symmetric eigendecompositions (libtorch <c>linalg.eigh</c>):
/// Σ₁ = V Λ Vᵀ gives S = Σ₁^{1/2} = V Λ^{1/2} Vᵀ; the symmetric M = S Σ₂ S has the eigenvalues of Σ₁Σ₂, all ≥ 0 in exact
/// arithmetic, and tr M^{1/2} = Σ √λᵢ(M) (an SVD stands in when the eigensolver fails to converge). Rounding leaves eigenvalues of nearly singular covariances slightly negative
/// (of the order of ε·‖Σ‖); those are clamped to 0 before the square root, in both decompositions, which changes the
/// result by at most √(that size) per eigenvalue and needs no ε·I regularisation.
/// </remarks>
public static class FrechetDistance
{
    /// <summary>FID between two feature sets (unbiased covariances, N − 1, as numpy's <c>np.cov</c> in pytorch-fid).</summary>
    public static double Compute(FeatureSet first, FeatureSet second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Dimension != second.Dimension)
            throw new ArgumentException($"Feature dimensions differ: {first.Dimension} and {second.Dimension}.", nameof(second));
        using var scope = NewDisposeScope();
        var (mean1, cov1) = GaussianStatistics(first);
        var (mean2, cov2) = GaussianStatistics(second);
        return FromStatistics(mean1, cov1, mean2, cov2);
    }

    /// <summary>FID from means [D] and covariances [D, D] (converted to float64).</summary>
    public static double FromStatistics(Tensor mean1, Tensor covariance1, Tensor mean2, Tensor covariance2)
    {
        using var scope = NewDisposeScope();
        var m1 = mean1.to(ScalarType.Float64);
        var m2 = mean2.to(ScalarType.Float64);
        var s1 = covariance1.to(ScalarType.Float64);
        var s2 = covariance2.to(ScalarType.Float64);
        var meanTerm = (m1 - m2).square().sum().item<double>();
        var traces = s1.trace().item<double>() + s2.trace().item<double>();
        return meanTerm + traces - 2 * TraceSqrtProduct(s1, s2);
    }

    /// <summary>
    /// tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} = tr (Σ₁Σ₂)^{1/2} for symmetric positive semi-definite Σ₁, Σ₂, in float64 (see the remarks
    /// of <see cref="FrechetDistance"/> for the method and the clamping of rounding-level negative eigenvalues).
    /// </summary>
    public static double TraceSqrtProduct(Tensor covariance1, Tensor covariance2)
    {
        using var scope = NewDisposeScope();
        var s1 = Symmetric(covariance1.to(ScalarType.Float64));
        var s2 = Symmetric(covariance2.to(ScalarType.Float64));
        var (values, vectors) = SymmetricEigen(s1);
        var root = (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.mT);
        var product = Symmetric(root.matmul(s2).matmul(root));
        return SymmetricEigen(product).Values.clamp_min(0).sqrt().sum().item<double>();
    }

    /// <summary>
    /// Eigenvalues and eigenvectors of a symmetric positive semi-definite matrix: <c>linalg.eigh</c>, or, when LAPACK's
    /// divide-and-conquer fails to converge (it does on covariances with many exactly repeated eigenvalues, e.g. features
    /// that are 0 for every image), the SVD, whose singular values and left vectors are the eigen pairs of a PSD matrix
    /// (rounding-level negative eigenvalues come out as their absolute values, of the same negligible size).
    /// </summary>
    private static (Tensor Values, Tensor Vectors) SymmetricEigen(Tensor m)
    {
        try
        {
            return linalg.eigh(m);
        }
        catch (System.Runtime.InteropServices.ExternalException)
        {
            var (u, s, vh) = linalg.svd(m);
            vh.Dispose();
            return (s, u);
        }
    }

    /// <summary>Mean [D] and unbiased covariance [D, D] (divided by N − 1) of a feature set, float64, computed in row blocks.</summary>
    public static (Tensor Mean, Tensor Covariance) GaussianStatistics(FeatureSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count < 2) throw new ArgumentException($"A covariance needs at least 2 feature vectors, got {set.Count}.", nameof(set));
        const int block = 4096;
        var d = set.Dimension;
        var sum = zeros(d, dtype: ScalarType.Float64);
        for (var start = 0; start < set.Count; start += block)
        {
            using var rows = Rows(set, start, Math.Min(block, set.Count - start));
            sum.add_(rows.sum(dim: 0)); // named: a literal 0 would bind to sum(ScalarType)
        }
        var mean = sum.div_(set.Count);
        var scatter = zeros(d, d, dtype: ScalarType.Float64);
        for (var start = 0; start < set.Count; start += block)
        {
            using var inner = NewDisposeScope();
            var centred = Rows(set, start, Math.Min(block, set.Count - start)).sub_(mean);
            scatter.add_(centred.mT.matmul(centred));
        }
        return (mean, scatter.div_(set.Count - 1));
    }

    private static Tensor Rows(FeatureSet set, int start, int count)
    {
        using var f = tensor(set.Features.AsSpan(start * set.Dimension, count * set.Dimension).ToArray(), [count, set.Dimension]);
        return f.to(ScalarType.Float64);
    }

    private static Tensor Symmetric(Tensor m) => (m + m.mT) * 0.5;
}
