using Ddpm.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class PrecisionRecallTests
{
    [Fact]
    public void ASetAgainstItselfHasPrecisionAndRecallOne()
    {
        var set = EvaluationData.StandardNormal(700, 12, seed: 4);
        var result = PrecisionRecall.Compute(set, set);
        Assert.Equal(1.0, result.Precision);
        Assert.Equal(1.0, result.Recall);
    }

    [Fact]
    public void FarApartSetsHavePrecisionAndRecallZero()
    {
        var a = EvaluationData.StandardNormal(300, 8, seed: 1);
        var b = EvaluationData.StandardNormal(300, 8, seed: 2, shift: 100);
        var result = PrecisionRecall.Compute(a, b);
        Assert.Equal(0.0, result.Precision);
        Assert.Equal(0.0, result.Recall);
    }

    [Fact]
    public void ACollapsedGeneratorHasHighPrecisionAndLowRecall()
    {
        // Generated points all near the reference mean: inside the reference manifold, but covering little of it.
        var reference = EvaluationData.StandardNormal(1000, 4, seed: 1);
        using var g = new Generator(9);
        using var tight = randn([1000, 4], dtype: ScalarType.Float64, generator: g) * 0.05;
        var result = PrecisionRecall.Compute(reference, EvaluationData.FromTensor(tight));
        Assert.True(result.Precision > 0.95, $"{result}");
        Assert.True(result.Recall < 0.2, $"{result}");
    }

    [Fact]
    public void RadiiAreTheKthNeighbourExcludingSelf()
    {
        using var points = tensor(new double[,] { { 0 }, { 1 }, { 3 }, { 7 } });
        using var radii = PrecisionRecall.Radii(points, 2);
        // 0: neighbours at 1, 3 → 3; 1: at 1, 2 → 2; 3: at 2, 3 → 3; 7: at 4, 6 → 6.
        Assert.Equal(new[] { 3.0, 2.0, 3.0, 6.0 }, radii.data<double>().ToArray());
    }
}
