namespace Ddpm;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014), used to derive independent, well-mixed generator seeds from one user seed
/// (per image when sampling, per epoch when shuffling).
/// </summary>
internal static class SeedMixing
{
    /// <summary>SplitMix64's increment, the odd integer closest to 2⁶⁴/φ.</summary>
    public const ulong GoldenGamma = 0x9E3779B97F4A7C15UL;

    /// <summary>One SplitMix64 output for state <paramref name="x"/>: the state advanced by the gamma, then finalised.</summary>
    public static ulong SplitMix64(ulong x) => Finalize(unchecked(x + GoldenGamma));

    /// <summary>SplitMix64's output function (a variant of MurmurHash3's 64-bit finaliser).</summary>
    public static ulong Finalize(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
