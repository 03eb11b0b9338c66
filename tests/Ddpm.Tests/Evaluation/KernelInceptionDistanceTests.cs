using Ddpm.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class KernelInceptionDistanceTests
{
    [Fact]
    public void KidOfOneDistributionIsUnbiasedOverRepeats()
    {
        // Each value is an unbiased MMD² estimate, so over independent repeats their mean is 0 within a few standard errors.
        const int repeats = 200;
        var values = new double[repeats];
        for (var r = 0; r < repeats; r++)
        {
            var x = EvaluationData.StandardNormal(100, 8, seed: 2 * r + 1);
            var y = EvaluationData.StandardNormal(100, 8, seed: 2 * r + 2);
            values[r] = KernelInceptionDistance.Compute(x, y, subsets: 1, subsetSize: 100, seed: r).Mean;
        }
        var mean = values.Average();
        var standardError = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (repeats - 1) / repeats);
        Assert.True(Math.Abs(mean) < 4 * standardError, $"mean {mean} vs standard error {standardError}");
        Assert.Contains(values, v => v < 0); // unbiased estimates of 0 are sometimes negative
    }

    [Fact]
    public void KidIsNearZeroForOneDistributionAndPositiveForTwo()
    {
        var x = EvaluationData.StandardNormal(1500, 16, seed: 1);
        var y = EvaluationData.StandardNormal(1500, 16, seed: 2);
        var shifted = EvaluationData.StandardNormal(1500, 16, seed: 3, shift: 0.5);
        var same = KernelInceptionDistance.Compute(x, y);
        var different = KernelInceptionDistance.Compute(x, shifted);
        Assert.True(Math.Abs(same.Mean) < 3 * same.Std + 1e-3, $"{same}");
        Assert.True(different.Mean > 10 * (same.Std + Math.Abs(same.Mean)), $"{different} vs {same}");
    }

    [Fact]
    public void UnbiasedMmdMatchesTheFormulaOnATinyExample()
    {
        // x = (0), (1); y = (1), (2) in one dimension: k(a, b) = (ab + 1)³.
        using var x = tensor(new double[,] { { 0 }, { 1 } });
        using var y = tensor(new double[,] { { 1 }, { 2 } });
        static double K(double a, double b) => Math.Pow(a * b + 1, 3);
        var expected = (2 * K(0, 1) + 2 * K(1, 2)) / 2.0 - 2 * (K(0, 1) + K(0, 2) + K(1, 1) + K(1, 2)) / 4.0;
        Assert.Equal(expected, KernelInceptionDistance.UnbiasedMmd2(x, y), 1e-12);
    }

    [Fact]
    public void SubsetsDependOnlyOnTheSeed()
    {
        var x = EvaluationData.StandardNormal(300, 4, seed: 1);
        var y = EvaluationData.StandardNormal(300, 4, seed: 2, shift: 0.1);
        Assert.Equal(KernelInceptionDistance.Compute(x, y, 10, 50, seed: 3), KernelInceptionDistance.Compute(x, y, 10, 50, seed: 3));
        Assert.NotEqual(KernelInceptionDistance.Compute(x, y, 10, 50, seed: 3), KernelInceptionDistance.Compute(x, y, 10, 50, seed: 4));
    }
}
