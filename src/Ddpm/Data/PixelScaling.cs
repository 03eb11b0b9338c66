namespace Ddpm.Data;

/// <summary>
/// The map from stored bytes {0, …, 255} to the model's range [−1, 1]: x/127.5 − 1 (Ho et al. 2020, §3.3),
/// so 0 → −1 and 255 → 1 exactly.
/// </summary>
public static class PixelScaling
{
    /// <summary>Half the byte range: a byte x maps to x/<see cref="HalfRange"/> − 1.</summary>
    public const double HalfRange = 127.5;

    private static readonly float[] Table = BuildTable();

    /// <summary>One byte in model range.</summary>
    public static float ToModelRange(byte value) => Table[value];

    /// <summary>Scales <paramref name="source"/> into <paramref name="destination"/>, which must be at least as long.</summary>
    public static void ToModelRange(ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException($"The destination holds {destination.Length} values but {source.Length} are needed.", nameof(destination));
        var table = Table;
        for (var i = 0; i < source.Length; i++) destination[i] = table[source[i]];
    }

    private static float[] BuildTable()
    {
        var table = new float[256];
        for (var i = 0; i < table.Length; i++) table[i] = (float)(i / HalfRange - 1.0);
        return table;
    }
}
