using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Diffusion;

/// <summary>The full-bound estimate on a tiny untrained U-Net: finite, deterministic under a seed, independent of batch size.</summary>
public sealed class LikelihoodEstimatorTests : IDisposable
{
    private readonly GaussianDiffusion diffusion = new(TinyRuns.Config().Diffusion);
    private readonly UNet network = TinyRuns.Network(21);
    private readonly ByteImageDataset data = TinyRuns.Data(count: 5);

    private LikelihoodResult Run(int batchSize, long seed, IBoundBatchStore? store = null) =>
        new LikelihoodEstimator(diffusion, (x, t) => network.call(x, t))
            .Evaluate(data, new LikelihoodSettings { Count = 3, BatchSize = batchSize, Seed = seed }, store: store);

    [Fact]
    public void The_estimate_is_finite_deterministic_and_independent_of_the_batch_size()
    {
        var a = Run(3, 1);
        var b = Run(3, 1);
        var split = Run(2, 1);
        var other = Run(3, 2);
        Assert.Equal(3, a.Images.Count);
        Assert.All(a.Images, i => Assert.True(double.IsFinite(i.Total) && i.Total > 0 && i.Diffusion > 0 && i.Decoder > 0));
        Assert.Equal(a.Images.Select(i => i.Total), b.Images.Select(i => i.Total));
        Assert.Equal(a.TermMeans, b.TermMeans);
        for (var i = 0; i < 3; i++) Assert.Equal(a.Images[i].Total, split.Images[i].Total, 1e-6 * a.Images[i].Total);
        Assert.NotEqual(a.Images[0].Total, other.Images[0].Total);
        // The per-timestep means add up to the mean bound.
        Assert.Equal(a.Mean, a.Prior + a.TermMeans.Sum(), 1e-9 * a.Mean);
        Assert.Equal(a.Decoder, a.TermMeans[0], 1e-12);
        Assert.True(a.StandardError > 0);
    }

    [Fact]
    public void Finished_batches_are_taken_from_the_store()
    {
        var store = new MemoryStore();
        var first = Run(2, 4, store);
        Assert.Equal(2, store.Saved.Count);
        var replay = new MemoryStore { Saved = new(store.Saved) };
        // A store holding every batch leaves nothing to compute: a model that fails proves it is not called.
        var result = new LikelihoodEstimator(diffusion, (_, _) => throw new InvalidOperationException("the model was called"))
            .Evaluate(data, new LikelihoodSettings { Count = 3, BatchSize = 2, Seed = 4 }, store: replay);
        Assert.Equal(first.Images.Select(i => i.Total), result.Images.Select(i => i.Total));
        Assert.Equal(first.TermMeans, result.TermMeans);
    }

    [Fact]
    public void Too_many_images_is_an_error() =>
        Assert.Throws<ArgumentException>(() => new LikelihoodEstimator(diffusion, (x, t) => network.call(x, t))
            .Evaluate(data, new LikelihoodSettings { Count = 6 }));

    private sealed class MemoryStore : IBoundBatchStore
    {
        public Dictionary<int, BoundBatch> Saved { get; init; } = [];

        public BoundBatch? TryLoad(int batch) => Saved.GetValueOrDefault(batch);

        public void Save(int batch, BoundBatch result) => Saved[batch] = result;
    }

    public void Dispose()
    {
        network.Dispose();
        diffusion.Dispose();
    }
}
