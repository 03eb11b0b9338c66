namespace Ddpm.Sampling;

/// <summary>
/// The seed of each image of a sampling run: image <c>i</c> of a run with seed <c>s</c> draws all its noise from a
/// generator seeded with <see cref="For"/>(s, i), so an image does not depend on the batch it was drawn in.
/// </summary>
public static class SampleSeeds
{
    /// <summary>A well-mixed 63-bit seed for image <paramref name="index"/> of a run seeded <paramref name="seed"/> (SplitMix64 finaliser).</summary>
    public static long For(long seed, long index)
    {
        var state = unchecked((ulong)seed * SeedMixing.GoldenGamma + (ulong)index + 0x632BE59BD9B4E019UL);
        return (long)(SeedMixing.Finalize(state) >> 1);
    }
}
