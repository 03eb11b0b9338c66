using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Data;

/// <summary>
/// Serves shuffled batches from an <see cref="IDataset"/> forever, epoch after epoch, dropping each epoch's last
/// incomplete batch. Epoch e visits the images in the order of <c>torch.randperm</c>, and (with random flips) mirrors
/// image i of that order left–right when the i-th value of <c>torch.rand</c> is below ½, both drawn from a
/// <see cref="torch.Generator"/> seeded with <see cref="EpochSeed"/>(seed, e). The order therefore depends only on the
/// seed, the epoch and the data set size, and a loader created at a saved <see cref="State"/> continues exactly.
/// </summary>
/// <remarks>
/// While the caller trains on one batch, the next is gathered and flipped into a float buffer on a background task;
/// <see cref="Next"/> then only copies that buffer into tensors on the calling thread. <see cref="IDataset.CopyImage"/>
/// is therefore called from a background thread. A loader is not meant to be used from several threads at once.
/// </remarks>
public sealed class BatchLoader : IDisposable
{
    private readonly Device? device;
    private readonly int imageSize;
    private readonly Buffer[] buffers;
    private EpochPlan? plan;
    private Task? pending;
    private int filling;
    private bool disposed;

    /// <summary>Creates a loader and starts preparing its first batch.</summary>
    /// <param name="dataset">The images; at least <paramref name="batchSize"/> of them.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="seed">Seed of every epoch's order and flips.</param>
    /// <param name="randomFlip">Whether to mirror each image left–right with probability ½ (see <see cref="DataDefaults.RandomFlip"/>).</param>
    /// <param name="start">Where to start; default <see cref="BatchLoaderState.Start"/>. Pass a saved <see cref="State"/> to resume.</param>
    /// <param name="device">Device of the batches' tensors; default the CPU.</param>
    public BatchLoader(IDataset dataset, int batchSize, long seed, bool randomFlip, BatchLoaderState? start = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (dataset.Count < batchSize)
            throw new ArgumentException($"The data set '{dataset.Name}' has {dataset.Count} images, fewer than one batch of {batchSize}.", nameof(batchSize));
        var size = (long)dataset.Channels * dataset.Height * dataset.Width;
        if (size < 1 || size * batchSize > Array.MaxLength)
            throw new ArgumentException($"A batch of {batchSize} images of {dataset.Channels}×{dataset.Height}×{dataset.Width} cannot be held in one buffer.", nameof(batchSize));
        start ??= BatchLoaderState.Start;
        if (start.Epoch < 0 || start.Offset < 0 || start.Offset > dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(start), start, $"A state needs Epoch ≥ 0 and 0 ≤ Offset ≤ {dataset.Count}.");

        Dataset = dataset;
        BatchSize = batchSize;
        Seed = seed;
        RandomFlip = randomFlip;
        this.device = device;
        imageSize = (int)size;
        buffers = [new Buffer(batchSize, imageSize), new Buffer(batchSize, imageSize)];
        State = Normalize(start);
        pending = Prepare(State, buffers[filling]);
    }

    /// <summary>The data set served.</summary>
    public IDataset Dataset { get; }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed of every epoch's order and flips.</summary>
    public long Seed { get; }

    /// <summary>Whether images are mirrored left–right at random.</summary>
    public bool RandomFlip { get; }

    /// <summary>Complete batches per epoch: ⌊Count / BatchSize⌋.</summary>
    public int BatchesPerEpoch => Dataset.Count / BatchSize;

    /// <summary>The position of the batch the next call to <see cref="Next"/> returns; save it to resume later.</summary>
    public BatchLoaderState State { get; private set; }

    /// <summary>
    /// The seed of epoch <paramref name="epoch"/>'s generator: SplitMix64(SplitMix64(seed) xor epoch), so neighbouring
    /// seeds and epochs give unrelated streams.
    /// </summary>
    public static ulong EpochSeed(long seed, long epoch) =>
        SeedMixing.SplitMix64(SeedMixing.SplitMix64(unchecked((ulong)seed)) ^ unchecked((ulong)epoch));

    /// <summary>
    /// The next batch: images float32 [B, C, H, W] in [−1, 1] and labels int64 [B], on the calling thread (and in its
    /// dispose scope, if any). Advances <see cref="State"/> by one batch.
    /// </summary>
    public Batch Next()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        pending!.GetAwaiter().GetResult(); // rethrows the data set's exception, if any, on every call
        var ready = buffers[filling];
        State = Normalize(State with { Offset = State.Offset + BatchSize });
        filling ^= 1;
        pending = Prepare(State, buffers[filling]);

        var images = torch.tensor(ready.Images, [BatchSize, Dataset.Channels, Dataset.Height, Dataset.Width], device: device);
        var labels = torch.tensor(ready.Labels, device: device);
        return new Batch(images, labels);
    }

    /// <summary>Waits for the batch in preparation, if any, and stops the loader.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        try
        {
            pending?.Wait();
        }
        catch (AggregateException)
        {
            // The failure was, or would have been, reported by Next.
        }
        pending = null;
    }

    private BatchLoaderState Normalize(BatchLoaderState state) =>
        state.Offset + BatchSize > Dataset.Count ? new BatchLoaderState(state.Epoch + 1, 0) : state;

    /// <summary>Draws the epoch's plan here, on the calling thread (the only one that touches torch), then gathers on a task.</summary>
    private Task Prepare(BatchLoaderState position, Buffer buffer)
    {
        if (plan is null || plan.Epoch != position.Epoch) plan = DrawPlan(position.Epoch);
        var epochPlan = plan;
        return Task.Run(() => Gather(epochPlan, position.Offset, buffer));
    }

    private EpochPlan DrawPlan(long epoch)
    {
        var n = Dataset.Count;
        using var generator = new torch.Generator(EpochSeed(Seed, epoch));
        using var permutation = torch.randperm(n, generator: generator);
        var order = permutation.data<long>().ToArray();
        bool[]? flips = null;
        if (RandomFlip)
        {
            using var uniform = torch.rand((long)n, generator: generator);
            flips = [.. uniform.data<float>().Select(u => u < 0.5f)];
        }
        return new EpochPlan(epoch, order, flips);
    }

    private void Gather(EpochPlan epochPlan, int offset, Buffer buffer)
    {
        var width = Dataset.Width;
        for (var b = 0; b < BatchSize; b++)
        {
            var index = (int)epochPlan.Order[offset + b];
            var image = buffer.Images.AsSpan(b * imageSize, imageSize);
            Dataset.CopyImage(index, image);
            if (epochPlan.Flips?[offset + b] == true)
            {
                for (var row = 0; row < imageSize; row += width) image.Slice(row, width).Reverse();
            }
            buffer.Labels[b] = Dataset.GetLabel(index);
        }
    }

    private sealed record EpochPlan(long Epoch, long[] Order, bool[]? Flips);

    private sealed class Buffer(int batchSize, int imageSize)
    {
        public float[] Images { get; } = new float[batchSize * imageSize];

        public long[] Labels { get; } = new long[batchSize];
    }
}
