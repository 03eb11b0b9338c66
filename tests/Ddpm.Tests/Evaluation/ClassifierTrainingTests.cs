using Ddpm.Evaluation;
using Ddpm.Tests.TestSupport;
using Xunit;

namespace Ddpm.Tests.Evaluation;

[Collection(nameof(AloneCollection))]
public sealed class ClassifierTrainingTests
{
    private static readonly ClassifierTrainingOptions Short = new() { BatchSize = 8, MaxSteps = 6, WarmupSteps = 2, Seed = 5, HorizontalFlip = true };

    private static float[] TrainedWeights(ClassifierTrainingOptions options)
    {
        var data = TinyRuns.Data(count: 40);
        var result = ClassifierTraining.Train(FeatureExtractorTests.TinyConfig(), data, data, options);
        using var network = result.Network;
        Assert.Equal(6, result.Steps);
        Assert.InRange(result.TestAccuracy, 0, 1);
        return network.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray()).ToArray();
    }

    [Fact]
    public void TrainingIsDeterministicUnderASeed()
    {
        var first = TrainedWeights(Short);
        var second = TrainedWeights(Short);
        Assert.Equal(first, second);
        var other = TrainedWeights(Short with { Seed = 6 });
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void LearningRateWarmsUpThenDecaysToZero()
    {
        var options = new ClassifierTrainingOptions { LearningRate = 1.0, WarmupSteps = 4 };
        Assert.Equal(0.25, ClassifierTraining.LearningRate(options, 0, 100), 1e-12);
        Assert.Equal(1.0, ClassifierTraining.LearningRate(options, 4, 100), 1e-12);
        Assert.Equal(0.5, ClassifierTraining.LearningRate(options, 52, 100), 1e-12);
        Assert.Equal(0.0, ClassifierTraining.LearningRate(options, 100, 100), 1e-12);
    }
}
