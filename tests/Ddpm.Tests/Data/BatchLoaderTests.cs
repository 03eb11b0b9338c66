using Ddpm.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Data;

public sealed class BatchLoaderTests
{
    private const int Height = 2;
    private const int Width = 3;

    /// <summary>Image i is the 1×2×3 block 10i + (0 1 2 / 3 4 5): its smallest byte names it and its rows are not symmetric.</summary>
    private static ByteImageDataset Numbered(int count, bool labelled = true) =>
        new("numbered", 1, Height, Width,
            [.. Enumerable.Range(0, count).Select(i => Enumerable.Range(0, Height * Width).Select(p => (byte)(10 * i + p)).ToArray())],
            labelled ? [.. Enumerable.Range(0, count).Select(i => i % 4)] : null);

    /// <summary>The images of a batch as bytes [B][H·W], and the labels.</summary>
    private static (int[][] Images, long[] Labels) Read(Batch batch)
    {
        var values = batch.Images.data<float>().ToArray();
        var size = Height * Width;
        var images = Enumerable.Range(0, (int)batch.Images.shape[0])
            .Select(b => values.Skip(b * size).Take(size).Select(TestData.ToByte).ToArray()).ToArray();
        return (images, batch.Labels.data<long>().ToArray());
    }

    private static List<(int[][] Images, long[] Labels)> Take(BatchLoader loader, int batches)
    {
        var result = new List<(int[][], long[])>();
        for (var i = 0; i < batches; i++)
        {
            using var batch = loader.Next();
            result.Add(Read(batch));
        }
        return result;
    }

    private static int Identity(int[] image) => image.Min() / 10;

    private static bool IsMirrored(int[] image) => image[0] % 10 == Width - 1;

    private static void AssertSame(List<(int[][] Images, long[] Labels)> expected, List<(int[][] Images, long[] Labels)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Images, actual[i].Images);
            Assert.Equal(expected[i].Labels, actual[i].Labels);
        }
    }

    [Fact]
    public void Batches_are_float_images_in_model_range_with_int64_labels()
    {
        using var loader = new BatchLoader(Numbered(8), batchSize: 4, seed: 1, randomFlip: false);
        using var batch = loader.Next();

        Assert.Equal([4L, 1, Height, Width], batch.Images.shape);
        Assert.Equal(ScalarType.Float32, batch.Images.dtype);
        Assert.Equal([4L], batch.Labels.shape);
        Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
        Assert.InRange(batch.Images.min().item<float>(), -1f, 1f);
        var (images, labels) = Read(batch);
        for (var b = 0; b < 4; b++)
        {
            Assert.Equal(Identity(images[b]) % 4, labels[b]);
            Assert.Equal(Enumerable.Range(0, Height * Width).Select(p => 10 * Identity(images[b]) + p), images[b]);
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_batches_and_another_seed_other_ones()
    {
        List<(int[][] Images, long[] Labels)> Run(long seed)
        {
            using var loader = new BatchLoader(Numbered(20), batchSize: 5, seed, randomFlip: true);
            return Take(loader, 9);
        }

        var first = Run(42);
        AssertSame(first, Run(42));
        var other = Run(43);
        Assert.NotEqual(first.SelectMany(b => b.Images.Select(Identity)), other.SelectMany(b => b.Images.Select(Identity)));
    }

    [Fact]
    public void Every_image_appears_once_per_epoch_and_epochs_are_reshuffled()
    {
        using var loader = new BatchLoader(Numbered(12), batchSize: 4, seed: 5, randomFlip: true);
        Assert.Equal(3, loader.BatchesPerEpoch);

        var epochs = Enumerable.Range(0, 3).Select(_ => Take(loader, 3).SelectMany(b => b.Images.Select(Identity)).ToArray()).ToArray();

        foreach (var epoch in epochs) Assert.Equal(Enumerable.Range(0, 12), epoch.Order());
        Assert.NotEqual(epochs[0], epochs[1]);
        Assert.Equal(new BatchLoaderState(3, 0), loader.State);
    }

    [Fact]
    public void The_last_incomplete_batch_of_an_epoch_is_dropped()
    {
        using var loader = new BatchLoader(Numbered(10), batchSize: 3, seed: 9, randomFlip: false);

        var epoch = Take(loader, 3).SelectMany(b => b.Images.Select(Identity)).ToArray();

        Assert.Equal(9, epoch.Distinct().Count());
        Assert.Equal(new BatchLoaderState(1, 0), loader.State);
    }

    [Fact]
    public void Random_flips_mirror_some_images_and_none_without_them()
    {
        using var flipping = new BatchLoader(Numbered(16), batchSize: 8, seed: 3, randomFlip: true);
        using var plain = new BatchLoader(Numbered(16), batchSize: 8, seed: 3, randomFlip: false);

        var flipped = Take(flipping, 8).SelectMany(b => b.Images).ToArray();
        var unflipped = Take(plain, 8).SelectMany(b => b.Images).ToArray();

        var mirrored = flipped.Count(IsMirrored);
        Assert.InRange(mirrored, 16, flipped.Length - 16); // 64 draws at ½: far from none or all
        foreach (var image in flipped.Where(IsMirrored))
        {
            var i = Identity(image);
            Assert.Equal([10 * i + 2, 10 * i + 1, 10 * i, 10 * i + 5, 10 * i + 4, 10 * i + 3], image); // each row reversed
        }
        Assert.DoesNotContain(unflipped, IsMirrored);
        // The flip draws come after the permutation, so the order does not depend on the flip setting.
        Assert.Equal(flipped.Select(Identity), unflipped.Select(Identity));
    }

    [Fact]
    public void A_loader_restored_mid_epoch_continues_with_the_same_batches()
    {
        using var original = new BatchLoader(Numbered(15), batchSize: 4, seed: 11, randomFlip: true);
        Take(original, 2);
        var saved = original.State;
        Assert.Equal(new BatchLoaderState(0, 8), saved);
        var expected = Take(original, 7);

        using var restored = new BatchLoader(Numbered(15), batchSize: 4, seed: 11, randomFlip: true, start: saved);
        Assert.Equal(saved, restored.State);

        AssertSame(expected, Take(restored, 7));
    }

    [Fact]
    public void A_state_at_the_end_of_an_epoch_starts_the_next()
    {
        using var loader = new BatchLoader(Numbered(10), batchSize: 4, seed: 1, randomFlip: false, start: new BatchLoaderState(2, 9));

        Assert.Equal(new BatchLoaderState(3, 0), loader.State);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchLoader(Numbered(10), 4, 1, false, new BatchLoaderState(0, 11)));
    }

    [Fact]
    public void A_data_set_smaller_than_a_batch_is_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new BatchLoader(Numbered(3), batchSize: 4, seed: 0, randomFlip: false));

        Assert.Contains("3 images, fewer than one batch of 4", e.Message);
    }

    [Fact]
    public void Unlabelled_data_gives_minus_one_labels()
    {
        using var loader = new BatchLoader(Numbered(4, labelled: false), batchSize: 2, seed: 0, randomFlip: false);
        using var batch = loader.Next();

        Assert.Equal([-1L, -1L], batch.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Batches_do_not_share_memory_with_the_loader_buffers()
    {
        using var loader = new BatchLoader(Numbered(12), batchSize: 2, seed: 4, randomFlip: true);
        using var first = loader.Next();
        var before = Read(first);

        Take(loader, 4); // both buffers are refilled meanwhile

        Assert.Equal(before.Images, Read(first).Images);
    }

    [Fact]
    public void Batches_live_in_the_callers_dispose_scope_and_nothing_leaks()
    {
        using var loader = new BatchLoader(Numbered(12), batchSize: 4, seed: 2, randomFlip: true);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        using (torch.NewDisposeScope())
        {
            for (var i = 0; i < 5; i++)
            {
                var batch = loader.Next();
                Assert.False(batch.Images.IsInvalid);
            }
        }
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        var outside = loader.Next();
        outside.Dispose();
        Assert.True(outside.Images.IsInvalid);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void A_failing_data_set_surfaces_its_exception_from_next()
    {
        using var loader = new BatchLoader(new Failing(), batchSize: 2, seed: 0, randomFlip: false);

        var e = Assert.Throws<DataException>(() => loader.Next());

        Assert.Equal("disk: gone", e.Message);
        Assert.Equal(BatchLoaderState.Start, loader.State);
    }

    [Fact]
    public void Epoch_seeds_differ_between_neighbouring_seeds_and_epochs()
    {
        var seeds = new[] { (0L, 0L), (0L, 1L), (1L, 0L), (1L, 1L) }.Select(s => BatchLoader.EpochSeed(s.Item1, s.Item2)).ToArray();

        Assert.Equal(4, seeds.Distinct().Count());
    }

    /// <summary>A user data set in a few lines: here one whose storage has gone away.</summary>
    private sealed class Failing : IDataset
    {
        public string Name => "failing";
        public int Count => 4;
        public int Channels => 1;
        public int Height => 1;
        public int Width => 1;
        public int NumClasses => 0;
        public void CopyImage(int index, Span<float> destination) => throw new DataException("disk", "gone");
        public int GetLabel(int index) => -1;
    }
}
