using Ddpm.Evaluation;
using Ddpm.Tests.Data;
using Xunit;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

public sealed class ReferenceStatisticsTests
{
    private static FeatureSet Compute(IFeatureExtractor extractor, int count, ref int calls)
    {
        calls++;
        using var g = new Generator(1);
        using var images = rand([count, 1, 8, 8], generator: g) * 2 - 1;
        return FeatureSet.Compute(extractor, [images]);
    }

    [Fact]
    public void CachedStatisticsAreReusedAndInvalidatedWhenTheWeightsChange()
    {
        using var folder = new TempFolder();
        var cache = Path.Combine(folder.Path, "cache");
        var model = Path.Combine(folder.Path, "model");
        FeatureExtractorTests.WriteTiny(model, FeatureExtractorTests.TinyConfig(), seed: 1);
        var calls = 0;

        FeatureSet first;
        using (var extractor = FeatureExtractors.Load(model))
        {
            first = ReferenceStatistics.GetOrCompute(cache, "tiny", "train", 6, extractor, () => Compute(extractor, 6, ref calls));
            var again = ReferenceStatistics.GetOrCompute(cache, "tiny", "train", 6, extractor, () => Compute(extractor, 6, ref calls));
            Assert.Equal(1, calls);
            Assert.Equal(first.Features, again.Features);
            // Another count or split is another entry.
            ReferenceStatistics.GetOrCompute(cache, "tiny", "test", 6, extractor, () => Compute(extractor, 6, ref calls));
            Assert.Equal(2, calls);
        }

        // Same architecture and id, new weights: the cache must not be reused.
        FeatureExtractorTests.WriteTiny(model, FeatureExtractorTests.TinyConfig(), seed: 2);
        using (var changed = FeatureExtractors.Load(model))
        {
            var recomputed = ReferenceStatistics.GetOrCompute(cache, "tiny", "train", 6, changed, () => Compute(changed, 6, ref calls));
            Assert.Equal(3, calls);
            Assert.NotEqual(first.Features, recomputed.Features);
            Assert.Equal(changed.WeightsHash, recomputed.WeightsHash);
            ReferenceStatistics.GetOrCompute(cache, "tiny", "train", 6, changed, () => Compute(changed, 6, ref calls));
            Assert.Equal(3, calls);
        }
    }

    [Fact]
    public void ACacheFileWithAnotherHashIsNotTrusted()
    {
        using var folder = new TempFolder();
        var model = Path.Combine(folder.Path, "model");
        FeatureExtractorTests.WriteTiny(model, FeatureExtractorTests.TinyConfig(), seed: 1);
        using var extractor = FeatureExtractors.Load(model);
        var path = ReferenceStatistics.CachePath(folder.Path, "tiny", "train", 2, extractor);
        new FeatureSet(new float[32], 16, null, 0, extractor.Id, new string('0', 64)).Save(path); // a forged stale entry
        var calls = 0;
        var set = ReferenceStatistics.GetOrCompute(folder.Path, "tiny", "train", 2, extractor, () => Compute(extractor, 2, ref calls));
        Assert.Equal(1, calls);
        Assert.Equal(extractor.WeightsHash, FeatureSet.Load(path).WeightsHash);
        Assert.Equal(2, set.Count);
    }
}
