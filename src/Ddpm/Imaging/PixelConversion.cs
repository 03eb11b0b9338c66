namespace Ddpm.Imaging;

/// <summary>
/// The mapping between model space [−1, 1] and 8-bit pixel values 0..255 (Ho et al. 2020, §3.3: "image data consists of
/// integers in {0, 1, …, 255} scaled linearly to [−1, 1]").
/// </summary>
public static class PixelConversion
{
    /// <summary>Half the byte range: x ∈ [−1, 1] maps to (x + 1)·127.5 ∈ [0, 255].</summary>
    public const double HalfRange = 127.5;

    /// <summary>
    /// round((x + 1)·127.5) clamped to 0..255, rounding halves up (floor(v + 0.5)), which is what
    /// torchvision's <c>save_image</c> does for [0, 1] images. So −1 → 0, 0 → 128 (127.5 rounds up), 1 → 255.
    /// NaN maps to 0 and ±∞ clamp to 0 or 255, so a diverged sample still saves (as black where it is NaN).
    /// </summary>
    public static byte ToByte(double x)
    {
        var v = (x + 1.0) * HalfRange + 0.5;
        if (!(v >= 1.0)) return 0; // also catches NaN
        if (v >= 255.0) return 255;
        return (byte)v; // truncation of a positive value is floor
    }

    /// <summary>b/127.5 − 1: 0 → −1, 255 → 1. <see cref="ToByte"/> of the result gives <paramref name="b"/> back exactly.</summary>
    public static float ToUnit(byte b) => (float)(b / HalfRange - 1.0);
}
