using System.Globalization;
using Ddpm.Checkpoints;
using Ddpm.Evaluation;
using Ddpm.Tests.Data;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class FeatureExtractorTests
{
    /// <summary>A narrow classifier on 8×8 images (random weights), written as safetensors + JSON description.</summary>
    internal static ClassifierConfig TinyConfig(string id = "tiny-classifier", IReadOnlyList<int>? widths = null, ClassifierNorm norm = ClassifierNorm.Batch) => new()
    {
        Id = id,
        ImageSize = 8,
        Widths = widths ?? [4, 8],
        FeatureDimension = 16,
        Classes = 10,
        Norm = norm,
    };

    internal static string WriteTiny(string directory, ClassifierConfig config, long seed)
    {
        using var g = new Generator((ulong)seed);
        using var network = new ClassifierNetwork(config, g);
        ClassifierTraining.Save(network, directory);
        return directory;
    }

    [Fact]
    public void DefaultClassifierGivesFeaturesAndProbabilitiesOfTheRightShape()
    {
        var folder = Path.Combine(CliRunner.RepositoryRoot(), "models", FeatureExtractors.DefaultClassifierName);
        Assert.True(File.Exists(Path.Combine(folder, "config.json")), "the committed classifier is missing");
        using var extractor = FeatureExtractors.DefaultFor(1, 28, 28);
        Assert.Equal(FeatureExtractors.DefaultClassifierName, extractor.Id);
        Assert.True(extractor.FeatureDimension >= 128);
        Assert.Equal(10, extractor.ClassCount);
        Assert.Equal(64, extractor.WeightsHash.Length);
        using var g = new Generator(1);
        using var images = rand([3, 1, 28, 28], generator: g) * 2 - 1;
        using var batch = extractor.Extract(images);
        Assert.Equal(new long[] { 3, extractor.FeatureDimension }, batch.Features.shape);
        Assert.Equal(new long[] { 3, 10 }, batch.Probabilities!.shape);
        using var sums = batch.Probabilities.sum(1);
        Assert.All(sums.data<float>().ToArray(), s => Assert.Equal(1.0, s, 1e-5));
        Assert.False(batch.Features.requires_grad);
    }

    [Fact]
    public void AnExtractorDescribedByJsonPlugsIn()
    {
        // A second network with other widths, another norm and another id: no code, only a JSON description and weights.
        using var folder = new TempFolder();
        var config = TinyConfig("second-extractor", [6, 12, 24], ClassifierNorm.Group);
        WriteTiny(folder.Path, config, seed: 3);
        using var extractor = FeatureExtractors.Load(folder.Path);
        Assert.Equal("second-extractor", extractor.Id);
        Assert.Equal(16, extractor.FeatureDimension);
        using var g = new Generator(2);
        // RGB 12×12 input: converted to grey and resized to 8×8 by the extractor.
        var batches = Enumerable.Range(0, 3).Select(_ => rand([5, 3, 12, 12], generator: g) * 2 - 1).ToList();
        var set = FeatureSet.Compute(extractor, batches);
        batches.ForEach(b => b.Dispose());
        Assert.Equal(15, set.Count);
        Assert.Equal(16, set.Dimension);
        Assert.Equal(10, set.ClassCount);
        Assert.Equal("second-extractor", set.ExtractorId);
        var report = SampleQuality.Compute(set, set, new QualityOptions { KidSubsets = 5 });
        Assert.Equal(0.0, report.Fid, 1e-6);
        Assert.Equal(1.0, report.Precision);
        // The description file itself (not only its folder) loads too.
        using var again = FeatureExtractors.Load(Path.Combine(folder.Path, "config.json"));
        Assert.Equal(extractor.WeightsHash, again.WeightsHash);
    }

    [Fact]
    public void GroupNormFeaturesAreFinite()
    {
        using var g = new Generator(2);
        using var network = new ClassifierNetwork(TinyConfig("group", [6, 12, 24], ClassifierNorm.Group), g);
        using var extractor = new ClassifierExtractor(network, "random");
        using var images = rand([5, 1, 8, 8], generator: g) * 2 - 1;
        using var batch = extractor.Extract(images);
        using var finite = batch.Features.isfinite().all();
        Assert.True(finite.item<bool>());
    }

    [Fact]
    public void BadDescriptionsAndShapesFailWithOneLine()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), """{ "kind": "resnet-9000" }""");
        var error = Assert.Throws<InvalidDataException>(() => FeatureExtractors.Load(folder.Path));
        Assert.Contains("resnet-9000", error.Message, StringComparison.Ordinal);
        var shape = Assert.Throws<ArgumentException>(() => FeatureExtractors.DefaultFor(3, 32, 32));
        Assert.Contains("--inception", shape.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', shape.Message);
        Assert.Throws<FileNotFoundException>(() => FeatureExtractors.Load(Path.Combine(folder.Path, "missing")));
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRejected()
    {
        using var folder = new TempFolder();
        WriteTiny(folder.Path, TinyConfig(), seed: 1);
        ConfigJson.Save(TinyConfig() with { Widths = [4, 16] }, Path.Combine(folder.Path, "config.json"));
        Assert.Throws<InvalidDataException>(() => FeatureExtractors.Load(folder.Path));
    }

    [Fact]
    public void FeatureSetsRoundTripThroughSafetensors()
    {
        using var folder = new TempFolder();
        var features = Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray();
        var probabilities = Enumerable.Range(0, 6).Select(i => i / 6f).ToArray();
        var set = new FeatureSet(features, 4, probabilities, 2, "x", "abc");
        set.Save(folder.File("set.safetensors"));
        var loaded = FeatureSet.Load(folder.File("set.safetensors"));
        Assert.Equal(features, loaded.Features);
        Assert.Equal(probabilities, loaded.Probabilities);
        Assert.Equal((3, 4, 2, "x", "abc"), (loaded.Count, loaded.Dimension, loaded.ClassCount, loaded.ExtractorId, loaded.WeightsHash));
        // Readable as ordinary safetensors.
        var tensors = TorchSharp.PyBridge.Safetensors.LoadStateDict(folder.File("set.safetensors"));
        Assert.Equal(new long[] { 3, 4 }, tensors["features"].shape);
    }

    [Fact]
    public void FidInceptionStateDictMatchesPytorchFid()
    {
        var fixture = Path.Combine(CliRunner.RepositoryRoot(), "tests", "Ddpm.Tests", "Evaluation", "Fixtures", "pytorch-fid-inception-state-dict.txt");
        var expected = File.ReadLines(fixture)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => p[1]);
        using var network = new FidInceptionV3();
        var actual = network.state_dict()
            .Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => string.Join(",", kv.Value.shape.Select(s => s.ToString(CultureInfo.InvariantCulture))));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected) Assert.True(shape == actual[key], $"{key}: expected {shape}, got {actual[key]}");
        using var bn = network.get_buffer("Conv2d_1a_3x3.bn.running_var");
        Assert.NotNull(bn);
    }

    [Theory]
    [InlineData(1, 28)]
    [InlineData(3, 32)]
    public void FidInceptionGivesPoolFeaturesAndScoreProbabilities(int channels, int size)
    {
        using var g = new Generator(4);
        var extractor = new FidInceptionExtractor(new FidInceptionV3(), "random");
        using (extractor)
        {
            using var images = rand([2, channels, size, size], generator: g) * 2 - 1;
            using var batch = extractor.Extract(images);
            Assert.Equal(new long[] { 2, 2048 }, batch.Features.shape);
            Assert.Equal(new long[] { 2, 1008 }, batch.Probabilities!.shape);
            Assert.Equal(1008, extractor.ClassCount);
        }
    }

    [Fact]
    public void APthFileThatIsNotInceptionIsRejected()
    {
        using var folder = new TempFolder();
        var path = folder.File("pt_inception.pth");
        File.WriteAllText(path, "not a pickle");
        var error = Assert.Throws<InvalidDataException>(() => FeatureExtractors.Load(path));
        Assert.Contains("Inception", error.Message, StringComparison.Ordinal);
    }
}
