using SkiaSharp;

namespace Ddpm.Data;

/// <summary>
/// Square resizing shared by the loaders: scale so the shorter side equals the target size, then keep the centre
/// (torchvision's <c>Resize(size)</c> followed by <c>CenterCrop(size)</c>), and grey ↔ RGB conversion of CHW bytes.
/// </summary>
internal static class ImageResize
{
    /// <summary>
    /// Down-scaling: trilinear filtering over a box-filtered mipmap pyramid, so every source pixel contributes
    /// (plain bilinear would alias when shrinking by more than 2×).
    /// </summary>
    private static readonly SKSamplingOptions Shrink = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Up-scaling: Catmull-Rom cubic, which interpolates (passes through the source samples) and stays sharp.</summary>
    private static readonly SKSamplingOptions Enlarge = new(SKCubicResampler.CatmullRom);

    /// <summary>
    /// The central square of <paramref name="source"/>, scaled to <paramref name="size"/>×<paramref name="size"/>, as CHW
    /// bytes with <paramref name="channels"/> 1 (luma) or 3 (RGB). Transparent pixels are composited over black.
    /// </summary>
    public static byte[] CenterSquare(SKBitmap source, int size, int channels)
    {
        var side = Math.Min(source.Width, source.Height);
        using var target = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        using (var image = SKImage.FromBitmap(source))
        {
            canvas.Clear(SKColors.Black);
            var destination = SKRect.Create(0, 0, size, size);
            if (side == size)
            {
                // No scaling: copy the central pixels exactly (integer offsets, as torchvision's CenterCrop rounds them).
                var crop = SKRect.Create((source.Width - side) / 2, (source.Height - side) / 2, side, side);
                canvas.DrawImage(image, crop, destination, new SKSamplingOptions(SKFilterMode.Nearest), null);
            }
            else
            {
                var crop = SKRect.Create((source.Width - side) / 2f, (source.Height - side) / 2f, side, side);
                canvas.DrawImage(image, crop, destination, side > size ? Shrink : Enlarge, null);
            }
        }
        return FromRgba(target.GetPixelSpan(), target.RowBytes, size, size, channels);
    }

    /// <summary>CHW bytes (1 or 3 channels) as an opaque RGBA bitmap.</summary>
    public static SKBitmap ToBitmap(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        var plane = height * width;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var p = y * width + x;
                var o = y * rowBytes + 4 * x;
                pixels[o] = chw[p];
                pixels[o + 1] = chw[channels == 3 ? plane + p : p];
                pixels[o + 2] = chw[channels == 3 ? 2 * plane + p : p];
                pixels[o + 3] = 255;
            }
        }
        return bitmap;
    }

    /// <summary>Converts CHW bytes between 1 and 3 channels: grey is repeated, RGB becomes its luma.</summary>
    public static byte[] ConvertChannels(ReadOnlySpan<byte> chw, int from, int to, int plane)
    {
        if (from == to) return chw.ToArray();
        var result = new byte[to * plane];
        if (from == 1)
        {
            for (var c = 0; c < 3; c++) chw.CopyTo(result.AsSpan(c * plane, plane));
        }
        else
        {
            for (var p = 0; p < plane; p++) result[p] = Luma(chw[p], chw[plane + p], chw[2 * plane + p]);
        }
        return result;
    }

    /// <summary>
    /// ITU-R BT.601 luma L = 0.299 R + 0.587 G + 0.114 B in 16-bit fixed point with rounding, the formula of
    /// PIL's <c>Image.convert("L")</c>, so a grey pixel (R = G = B) keeps its value.
    /// </summary>
    public static byte Luma(byte r, byte g, byte b) => (byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);

    private static byte[] FromRgba(ReadOnlySpan<byte> rgba, int rowBytes, int height, int width, int channels)
    {
        var plane = height * width;
        var result = new byte[channels * plane];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var p = y * width + x;
                var o = y * rowBytes + 4 * x;
                if (channels == 1)
                {
                    result[p] = Luma(rgba[o], rgba[o + 1], rgba[o + 2]);
                }
                else
                {
                    result[p] = rgba[o];
                    result[plane + p] = rgba[o + 1];
                    result[2 * plane + p] = rgba[o + 2];
                }
            }
        }
        return result;
    }

    /// <summary>
    /// <paramref name="dataset"/> with every image resized to <paramref name="size"/>×<paramref name="size"/> (shorter side,
    /// then centre crop; null keeps the stored size) and converted to <paramref name="channels"/>; the same object when
    /// nothing changes.
    /// </summary>
    public static ByteImageDataset Reshape(ByteImageDataset dataset, int? size, int channels)
    {
        var resize = size is { } side && (dataset.Height != side || dataset.Width != side);
        if (!resize && dataset.Channels == channels) return dataset;
        var height = resize ? size!.Value : dataset.Height;
        var width = resize ? size!.Value : dataset.Width;
        var images = new byte[dataset.Count][];
        Parallel.For(0, dataset.Count, i =>
        {
            if (resize)
            {
                using var bitmap = ToBitmap(dataset.GetBytes(i), dataset.Channels, dataset.Height, dataset.Width);
                images[i] = CenterSquare(bitmap, height, channels);
            }
            else
            {
                images[i] = ConvertChannels(dataset.GetBytes(i), dataset.Channels, channels, height * width);
            }
        });
        var labels = dataset.IsLabelled ? Enumerable.Range(0, dataset.Count).Select(dataset.GetLabel).ToArray() : null;
        return new ByteImageDataset(dataset.Name, channels, height, width, images, labels, labels is null ? null : dataset.ClassNames);
    }
}
