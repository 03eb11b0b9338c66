using static TorchSharp.torch;

namespace Ddpm.Tests.Imaging;

/// <summary>Small deterministic image tensors for the imaging tests.</summary>
internal static class TestImages
{
    /// <summary>Exactness bound of a byte round trip: half a byte step in [−1, 1] units is 1/255.</summary>
    public const double RoundTripTolerance = 1.0 / 255 + 1e-6;

    /// <summary>A float32 tensor of the given shape from explicit values.</summary>
    public static Tensor Make(float[] values, params long[] shape) => tensor(values, shape, ScalarType.Float32);

    /// <summary>[N, C, H, W] whose pixel bytes are (n·31 + c·17 + y·W + x)·7 mod 256, mapped to [−1, 1].</summary>
    public static Tensor Pattern(int n, int c, int h, int w)
    {
        var values = new float[n * c * h * w];
        var i = 0;
        for (var a = 0; a < n; a++)
        for (var b = 0; b < c; b++)
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
            values[i++] = Ddpm.Imaging.PixelConversion.ToUnit(PatternByte(a, b, y, x, w));
        return Make(values, n, c, h, w);
    }

    /// <summary>The byte <see cref="Pattern"/> puts at (n, c, y, x).</summary>
    public static byte PatternByte(int n, int c, int y, int x, int w) => (byte)((n * 31 + c * 17 + y * w + x) * 7 % 256);
}
