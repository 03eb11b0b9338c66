using Ddpm.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class InceptionScoreTests
{
    [Fact]
    public void UniformPredictionsScoreOne()
    {
        using var p = full(1000, 10, 0.1, dtype: ScalarType.Float64);
        var score = InceptionScore.Compute(p);
        Assert.Equal(1.0, score.Mean, 1e-12);
        Assert.Equal(0.0, score.Std, 1e-12);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(7)]
    public void BalancedOneHotPredictionsScoreTheClassCount(int classes)
    {
        // 100 images per split, every class equally often in each split: KL = log K for every image.
        using var labels = arange(1000 * classes, dtype: ScalarType.Int64).remainder(classes);
        using var p = nn.functional.one_hot(labels, classes).to(ScalarType.Float64);
        var score = InceptionScore.Compute(p, splits: 10);
        Assert.Equal(classes, score.Mean, 1e-9);
        Assert.Equal(0.0, score.Std, 1e-9);
    }

    [Fact]
    public void OneClassOnlyScoresOne()
    {
        using var labels = zeros(100, dtype: ScalarType.Int64);
        using var p = nn.functional.one_hot(labels, 10).to(ScalarType.Float64);
        Assert.Equal(1.0, InceptionScore.Compute(p).Mean, 1e-12);
    }
}
