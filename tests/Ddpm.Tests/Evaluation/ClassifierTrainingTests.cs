using Ddpm.Tests.Data;
using Ddpm.Evaluation;
using Ddpm.Tests.TestSupport;
using Xunit;

namespace Ddpm.Tests.Evaluation;

public sealed class ClassifierTrainingTests
{
    /// <summary>
    /// <c>ddpm classifier train</c> run twice with one seed writes the same weights byte for byte, and another seed other
    /// weights. Each run is its own process: inside the shared test process a short training run has been seen to end
    /// in NaN weights after other tests ran (an open problem, not reproduced in a fresh process).
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
        byte[] Train(string name, long seed)
        {
            var result = CliRunner.Run("classifier", "train", "--dataset", "mnist", "--data", data, "--out", temp.File(name),
                "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch-size", "8", "--max-steps", "6",
                "--widths", "4", "8", "--flip");
            Assert.True(result.ExitCode == 0, result.Stderr);
            return File.ReadAllBytes(Path.Combine(temp.File(name), "model.safetensors"));
        }
        var first = Train("a", 5);
        var second = Train("b", 5);
        Assert.Equal(first, second);
        Assert.NotEqual(first, Train("c", 6));
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
