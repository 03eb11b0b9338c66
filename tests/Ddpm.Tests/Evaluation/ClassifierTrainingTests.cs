using Ddpm.Tests.Data;
using Ddpm.Evaluation;
using Ddpm.Tests.TestSupport;
using Xunit;

namespace Ddpm.Tests.Evaluation;

public sealed class ClassifierTrainingTests
{
    /// <summary>
    /// <c>ddpm classifier train</c> run twice with one seed gives the same weights, byte for byte, another seed other
    /// weights. Each run is its own process. The tiny widths (4, 8) take the convolution backward path that libtorch 2.10
    /// gets wrong on the CPU for fewer than 16 output channels (see <c>Layout.SafeConv</c>); runs differed by ~1e-4 before
    /// the classifier routed those convolutions through it.
    /// </summary>
    [Fact]
    public void TrainingIsDeterministicUnderASeed()
    {
        using var temp = new TempFolder();
        var data = temp.File("mnist");
        Directory.CreateDirectory(data);
        var labels = Enumerable.Range(0, 48).Select(i => i % 10).ToList();
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), TestData.IdxImages(48, 28, 28));
        File.WriteAllBytes(Path.Combine(data, "train-labels-idx1-ubyte"), TestData.IdxLabels(labels));
        File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), TestData.IdxImages(20, 28, 28));
        File.WriteAllBytes(Path.Combine(data, "t10k-labels-idx1-ubyte"), TestData.IdxLabels([.. labels.Take(20)]));
        float[] Train(string name, long seed)
        {
            var result = CliRunner.Run("classifier", "train", "--dataset", "mnist", "--data", data, "--out", temp.File(name),
                "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "8", "--max-steps", "6",
                "--widths", "4", "8", "--flip");
            Assert.True(result.ExitCode == 0, result.Stderr);
            using var extractor = (ClassifierExtractor)FeatureExtractors.Load(temp.File(name));
            return [.. extractor.Network.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray())];
        }
        static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
        var first = Train("a", 5);
        var second = Train("b", 5);
        Assert.All(first, w => Assert.True(float.IsFinite(w)));
        Assert.Equal(0, MaxDifference(first, second));
        Assert.True(MaxDifference(first, Train("c", 6)) > OtherSeedDistance);
    }

    private const double OtherSeedDistance = 0.05;

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
