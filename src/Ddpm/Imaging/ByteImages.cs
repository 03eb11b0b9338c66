using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Imaging;

/// <summary>
/// A batch of 8-bit images in memory: <see cref="Count"/> images of <see cref="Height"/>×<see cref="Width"/> pixels with
/// <see cref="Channels"/> = 1 (grey) or 3 (RGB) channels, stored image by image, row by row, with the channels of a pixel
/// side by side (N·H·W·C), as image files store them. This is the bridge between tensors and SkiaSharp bitmaps.
/// </summary>
public sealed class ByteImages
{
    /// <summary>Largest number of bytes one batch may hold, so that indices fit an <see cref="int"/>.</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>Black images (all zeros) of the given size.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the channel count is not 1 or 3, or the batch is too large.</exception>
    public ByteImages(int count, int channels, int height, int width)
    {
        if (count < 1) throw new ArgumentException($"An image batch needs at least one image (got {count}).", nameof(count));
        ImageShape.CheckChannels(channels);
        if (height < 1 || width < 1) throw new ArgumentException($"Images must be at least 1×1 pixels (got {height}×{width}).");
        var bytes = (long)count * channels * height * width;
        if (bytes > MaxBytes) throw new ArgumentException($"{count} images of {channels}×{height}×{width} exceed {MaxBytes} bytes.");
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = new byte[bytes];
    }

    /// <summary>Number of images N.</summary>
    public int Count { get; }

    /// <summary>Channels per pixel: 1 (grey) or 3 (R, G, B).</summary>
    public int Channels { get; }

    /// <summary>Image height H in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width W in pixels.</summary>
    public int Width { get; }

    /// <summary>All pixel bytes, N·H·W·C, channels interleaved.</summary>
    public byte[] Pixels { get; }

    /// <summary>Bytes per image, H·W·C.</summary>
    public int ImageLength => Height * Width * Channels;

    /// <summary>Channel <paramref name="c"/> of pixel (<paramref name="y"/>, <paramref name="x"/>) of image <paramref name="n"/>.</summary>
    public byte this[int n, int y, int x, int c]
    {
        get => Pixels[Offset(n, y, x, c)];
        set => Pixels[Offset(n, y, x, c)] = value;
    }

    /// <summary>
    /// Converts a tensor of images in [−1, 1] to bytes with <see cref="PixelConversion.ToByte"/>.
    /// Any floating dtype (float32, bfloat16, float16, float64) on any device is accepted; the tensor is not modified.
    /// </summary>
    /// <param name="images">[C, H, W] (one image) or [N, C, H, W], C = 1 or 3.</param>
    /// <exception cref="ArgumentException">Wrong rank, C not 1 or 3, an empty dimension, or a non-floating dtype.</exception>
    public static ByteImages FromTensor(Tensor images)
    {
        var shape = ImageShape.Of(images);
        var result = new ByteImages(shape.Count, shape.Channels, shape.Height, shape.Width);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = images.dim() == 3 ? images.unsqueeze(0) : images;
        // N, C, H, W → N, H, W, C so the bytes come out interleaved as image files want them.
        var values = batch.detach().to(ScalarType.Float32).cpu().permute(0, 2, 3, 1).contiguous().data<float>().ToArray();
        var pixels = result.Pixels;
        for (var i = 0; i < values.Length; i++) pixels[i] = PixelConversion.ToByte(values[i]);
        return result;
    }

    /// <summary>The images as a float32 [N, C, H, W] tensor in [−1, 1] (<see cref="PixelConversion.ToUnit"/>), on the CPU.</summary>
    public Tensor ToTensor()
    {
        var values = new float[Pixels.Length];
        for (var i = 0; i < values.Length; i++) values[i] = PixelConversion.ToUnit(Pixels[i]);
        using var scope = NewDisposeScope();
        var interleaved = tensor(values, [Count, Height, Width, Channels], ScalarType.Float32);
        return interleaved.permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Image <paramref name="index"/> as a new bitmap the caller disposes: <see cref="SKColorType.Gray8"/> for grey images,
    /// opaque <see cref="SKColorType.Rgba8888"/> for RGB.
    /// </summary>
    public SKBitmap ToBitmap(int index = 0)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"There are {Count} images.");
        var colorType = Channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888;
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, colorType, SKAlphaType.Opaque));
        try
        {
            var target = bitmap.GetPixelSpan();
            var rowBytes = bitmap.RowBytes;
            var source = Pixels.AsSpan(index * ImageLength, ImageLength);
            for (var y = 0; y < Height; y++)
            {
                var row = target.Slice(y * rowBytes, Width * bitmap.BytesPerPixel);
                var sourceRow = source.Slice(y * Width * Channels, Width * Channels);
                if (Channels == 1)
                {
                    sourceRow.CopyTo(row);
                    continue;
                }

                for (var x = 0; x < Width; x++)
                {
                    row[4 * x] = sourceRow[3 * x];
                    row[4 * x + 1] = sourceRow[3 * x + 1];
                    row[4 * x + 2] = sourceRow[3 * x + 2];
                    row[4 * x + 3] = 255;
                }
            }

            bitmap.NotifyPixelsChanged();
            return bitmap;
        }
        catch
        {
            bitmap.Dispose();
            throw;
        }
    }

    /// <summary>Image <paramref name="index"/> encoded as PNG (8-bit grey or 8-bit RGBA with opaque alpha).</summary>
    public byte[] EncodePng(int index = 0)
    {
        using var bitmap = ToBitmap(index);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {Width}×{Height} image as PNG.");
        return data.ToArray();
    }

    private int Offset(int n, int y, int x, int c)
    {
        if ((uint)n >= (uint)Count || (uint)y >= (uint)Height || (uint)x >= (uint)Width || (uint)c >= (uint)Channels)
            throw new ArgumentOutOfRangeException($"Pixel ({n}, {y}, {x}, {c}) lies outside {Count}×{Height}×{Width}×{Channels}.");
        return ((n * Height + y) * Width + x) * Channels + c;
    }
}
