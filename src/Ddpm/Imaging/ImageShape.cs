using static TorchSharp.torch;

namespace Ddpm.Imaging;

/// <summary>The size of an image tensor, [C, H, W] read as one image (<see cref="Count"/> = 1) or [N, C, H, W].</summary>
/// <param name="Count">Number of images N.</param>
/// <param name="Channels">1 (grey) or 3 (RGB).</param>
/// <param name="Height">Height H in pixels.</param>
/// <param name="Width">Width W in pixels.</param>
public sealed record ImageShape(int Count, int Channels, int Height, int Width)
{
    /// <summary>
    /// Reads and checks the shape of an image tensor: rank 3 or 4, C = 1 or 3, no empty dimension, floating-point dtype.
    /// </summary>
    /// <exception cref="ArgumentException">With a one-line message saying what is wrong and what was expected.</exception>
    public static ImageShape Of(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var shape = images.shape;
        if (shape.Length is not (3 or 4))
            throw new ArgumentException($"Images must have shape [C,H,W] or [N,C,H,W] (got rank {shape.Length}, shape {Format(shape)}).", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"Images must be a floating-point tensor in [-1, 1] (got dtype {images.dtype}).", nameof(images));
        var count = shape.Length == 4 ? shape[0] : 1;
        var channels = shape[^3];
        var height = shape[^2];
        var width = shape[^1];
        if (count < 1) throw new ArgumentException($"There are no images to convert (shape {Format(shape)}).", nameof(images));
        if (channels is not (1 or 3))
            throw new ArgumentException($"Images must have 1 (grey) or 3 (RGB) channels (got {channels}, shape {Format(shape)}).", nameof(images));
        if (height < 1 || width < 1 || height > int.MaxValue || width > int.MaxValue || count > int.MaxValue)
            throw new ArgumentException($"Image dimensions must be positive and fit in an int (shape {Format(shape)}).", nameof(images));
        return new ImageShape((int)count, (int)channels, (int)height, (int)width);
    }

    /// <summary>Throws unless <paramref name="channels"/> is 1 or 3.</summary>
    internal static void CheckChannels(int channels)
    {
        if (channels is not (1 or 3))
            throw new ArgumentException($"Images must have 1 (grey) or 3 (RGB) channels (got {channels}).", nameof(channels));
    }

    private static string Format(long[] shape) => "[" + string.Join(",", shape) + "]";
}
