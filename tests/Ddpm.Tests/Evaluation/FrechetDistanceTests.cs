using Ddpm.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class FrechetDistanceTests
{
    /// <summary>float64 linear algebra on well-conditioned matrices of side ≤ 10.</summary>
    private const double Float64Algebra = 1e-9;

    [Fact]
    public void FidOfASetWithItselfIsZero()
    {
        var set = EvaluationData.StandardNormal(500, 16, seed: 1);
        Assert.Equal(0.0, FrechetDistance.Compute(set, set), 1e-8);
    }

    [Fact]
    public void FidBetweenGaussianSamplesMatchesTheClosedForm()
    {
        // Σ₁ = Q diag(a) Qᵀ and Σ₂ = Q diag(b) Qᵀ commute, so tr (Σ₁Σ₂)^{1/2} = Σ √(aᵢbᵢ) exactly.
        double[] a = [4.0, 2.0, 1.0, 0.5];
        double[] b = [1.0, 3.0, 0.25, 2.0];
        double[] mean1 = [0.0, 1.0, -1.0, 2.0];
        double[] mean2 = [0.5, 1.0, 0.0, 1.0];
        using var q = EvaluationData.Rotation(4, seed: 7);
        using var s1 = EvaluationData.Spectral(q, a);
        using var s2 = EvaluationData.Spectral(q, b);
        var expected = mean1.Zip(mean2, (x, y) => (x - y) * (x - y)).Sum() + a.Sum() + b.Sum()
                       - 2 * a.Zip(b, (x, y) => Math.Sqrt(x * y)).Sum();
        using var l1 = linalg.cholesky(s1);
        using var l2 = linalg.cholesky(s2);
        const int n = 200_000;
        var first = EvaluationData.Gaussian(n, mean1, l1, seed: 11);
        var second = EvaluationData.Gaussian(n, mean2, l2, seed: 12);
        // Sampling error of the means and covariances at N = 200,000 is about 1e-2 on a value of 6.8.
        Assert.Equal(expected, FrechetDistance.Compute(first, second), 0.05);
        // And from the exact statistics it is exact.
        Assert.Equal(expected, FrechetDistance.FromStatistics(tensor(mean1), s1, tensor(mean2), s2), Float64Algebra);
    }

    [Theory]
    [InlineData(3, 1L)]
    [InlineData(6, 2L)]
    [InlineData(10, 3L)]
    public void TraceSqrtMatchesDenmanBeaversOnRandomSpdMatrices(int d, long seed)
    {
        using var g = new Generator((ulong)seed);
        using var x = randn([d, d + 2], dtype: ScalarType.Float64, generator: g);
        using var y = randn([d, d + 3], dtype: ScalarType.Float64, generator: g);
        using var s1 = x.matmul(x.mT);
        using var s2 = y.matmul(y.mT);
        var product = DenmanBeavers.Multiply(EvaluationData.ToArray(s1), EvaluationData.ToArray(s2));
        var reference = DenmanBeavers.TraceSqrt(product);
        Assert.Equal(reference, FrechetDistance.TraceSqrtProduct(s1, s2), Float64Algebra * reference);
    }

    [Theory]
    [InlineData(10, 4, 10)] // fewer samples than dimensions: Σ₁ has rank 3
    [InlineData(12, 6, 5)] // both singular
    [InlineData(64, 20, 30)]
    public void TraceSqrtIsRightForSingularCovariances(int d, int n1, int n2)
    {
        // Covariances of n < d samples, Σ = X Xᵀ with X the centred samples / √(n − 1), are singular. Then
        // tr (X Xᵀ Y Yᵀ)^{1/2} is the nuclear norm of Yᵀ X (the eigenvalues of Σ₁Σ₂ are the squared singular values of
        // Yᵀ X and zeros): a reference from an SVD, not an eigendecomposition.
        using var scope = NewDisposeScope();
        using var g = new Generator(5);
        Tensor Factor(int n)
        {
            var samples = randn([d, n], dtype: ScalarType.Float64, generator: g);
            return (samples - samples.mean([1], keepdim: true)) / Math.Sqrt(n - 1);
        }
        var x = Factor(n1);
        var y = Factor(n2);
        var reference = linalg.svdvals(y.mT.matmul(x)).sum().item<double>();
        var actual = FrechetDistance.TraceSqrtProduct(x.matmul(x.mT), y.matmul(y.mT));
        // Clamped rounding-level eigenvalues contribute at most d·√(ε‖Σ‖) ≈ 1e-7.
        Assert.Equal(reference, actual, 1e-6 * Math.Max(1, reference));
    }

    [Fact]
    public void FidHandlesFeaturesThatAreZeroForEveryImage()
    {
        // ReLU features: many columns identically 0 and fewer images than dimensions, so many repeated zero eigenvalues.
        using var g = new Generator(3);
        using var raw = randn([15, 32], dtype: ScalarType.Float64, generator: g).relu_();
        using var mask = (arange(32) % 3).eq(0).to(ScalarType.Float64);
        using var x = raw * mask;
        var set = EvaluationData.FromTensor(x);
        Assert.Equal(0.0, FrechetDistance.Compute(set, set), 1e-6);
        using var y = (raw + 0.5) * mask;
        var shifted = EvaluationData.FromTensor(y);
        // A shift of 0.5 in the 11 non-zero columns changes only the mean term: 11 · 0.25.
        Assert.Equal(11 * 0.25, FrechetDistance.Compute(set, shifted), 1e-5);
    }

    [Fact]
    public void CovarianceIsUnbiased()
    {
        var set = EvaluationData.FromTensor(tensor(new double[,] { { 0, 0 }, { 2, 0 }, { 0, 4 } }));
        var (mean, covariance) = FrechetDistance.GaussianStatistics(set);
        using (mean)
        using (covariance)
        {
            // np.cov of x = (0, 2, 0), y = (0, 0, 4): var x = 4/3, var y = 16/3, cov = −4/3.
            Assert.Equal(4.0 / 3, covariance[0, 0].item<double>(), 1e-12);
            Assert.Equal(16.0 / 3, covariance[1, 1].item<double>(), 1e-12);
            Assert.Equal(-4.0 / 3, covariance[0, 1].item<double>(), 1e-12);
            Assert.Equal(2.0 / 3, mean[0].item<double>(), 1e-12);
        }
    }
}
