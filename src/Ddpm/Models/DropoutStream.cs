using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Ddpm.Models;

/// <summary>
/// The random stream behind a U-Net's dropout: a counter-based generator (SplitMix64 of the seed and the position of
/// each draw), so its whole state is two integers that a checkpoint saves, and the same seed gives the same masks at
/// any thread count. Masks are drawn on all cores in C#: libtorch's <c>bernoulli_</c> draws one double per element
/// on a single thread, which made dropout about a tenth of a training step.
/// </summary>
public sealed class DropoutStream
{
    private const int ChunkElements = 1 << 16;

    /// <summary>A stream starting at position 0 of <paramref name="seed"/>.</summary>
    public DropoutStream(long seed) => Reset(seed);

    /// <summary>The seed of the stream.</summary>
    public long Seed { get; private set; }

    /// <summary>Draws made so far (one per masked element); with <see cref="Seed"/>, the stream's whole state.</summary>
    public long Position { get; private set; }

    private ulong key;

    /// <summary>Restarts the stream at <paramref name="position"/> of <paramref name="seed"/>.</summary>
    public void Reset(long seed, long position = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        Seed = seed;
        Position = position;
        key = SeedMixing.SplitMix64(unchecked((ulong)seed));
    }

    /// <summary>
    /// An inverted-dropout mask of <paramref name="shape"/>: each element is 1/(1 − <paramref name="rate"/>) with
    /// probability 1 − rate and 0 otherwise, so that <c>x * mask</c> keeps the expectation of x.
    /// </summary>
    public Tensor KeepMask(long[] shape, double rate, ScalarType dtype = ScalarType.Float32)
    {
        using var keep = KeepBits(shape, rate);
        return keep.to(dtype).TimesInPlace(1.0 / (1.0 - rate));
    }

    /// <summary>
    /// The same draws as <see cref="KeepMask"/> as a boolean mask, true where an element is kept: one byte per element,
    /// which is what autograd saves for the backward pass of <c>x * mask</c> (as PyTorch's dropout saves its mask).
    /// </summary>
    public Tensor KeepBits(long[] shape, double rate)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must lie in [0, 1).");
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var threshold = (ulong)Math.Round(rate * 4294967296.0);
        var start = Position;
        Position += count;
        return Fill(shape, count, start, threshold);
    }

    private unsafe Tensor Fill(long[] shape, long count, long start, ulong threshold)
    {
        var mask = empty(shape, ScalarType.Bool);
        if (count == 0) return mask;
        var bytes = mask.bytes;
        fixed (byte* p = &MemoryMarshal.GetReference(bytes))
        {
            var address = (nint)p;
            var chunks = (count + ChunkElements - 1) / ChunkElements;
            var k = key;
            Parallel.For(0, chunks, chunk =>
            {
                var from = chunk * ChunkElements;
                var to = Math.Min(count, from + ChunkElements);
                var out8 = (byte*)address;
                for (var i = from; i < to; i++) out8[i] = Draw(k, start + i) >= threshold ? (byte)1 : (byte)0;
            });
        }
        return mask;
    }

    /// <summary>The high 32 bits of draw <paramref name="position"/> of the stream keyed by <paramref name="key"/>.</summary>
    private static ulong Draw(ulong key, long position) =>
        SeedMixing.Finalize(unchecked(key + (ulong)position * SeedMixing.GoldenGamma)) >> 32;
}
