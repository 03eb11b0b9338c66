using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Imaging;

/// <summary>
/// Tiles a batch of images into one picture, as torchvision's <c>make_grid</c>/<c>save_image</c>:
/// rows of <see cref="GridOptions.Columns"/> images separated and framed by <see cref="GridOptions.Padding"/> pixels.
/// </summary>
public static class ImageGrid
{
    /// <summary>The grid geometry for <paramref name="count"/> images of <paramref name="height"/>×<paramref name="width"/> pixels.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the options are invalid, or the grid would be too large.</exception>
    public static GridLayout Layout(int count, int height, int width, GridOptions? options = null)
    {
        options = (options ?? new GridOptions()).Validate();
        if (count < 1) throw new ArgumentException($"A grid needs at least one image (got {count}).", nameof(count));
        if (height < 1 || width < 1) throw new ArgumentException($"Images must be at least 1×1 pixels (got {height}×{width}).");
        var columns = Math.Min(options.Columns ?? CeilingSqrt(count), count);
        var rows = (count + columns - 1) / columns;
        var cellWidth = (long)width * options.Scale;
        var cellHeight = (long)height * options.Scale;
        var gridWidth = columns * cellWidth + (columns + 1L) * options.Padding;
        var gridHeight = rows * cellHeight + (rows + 1L) * options.Padding;
        if (gridWidth * gridHeight * 3 > ByteImages.MaxBytes)
            throw new ArgumentException($"A grid of {gridWidth}×{gridHeight} pixels is too large; use fewer images or a smaller scale.");
        return new GridLayout(count, columns, rows, (int)cellWidth, (int)cellHeight, options.Padding);
    }

    /// <summary>One grid image made from every image of <paramref name="images"/> (a batch with <see cref="ByteImages.Count"/> = 1).</summary>
    public static ByteImages Compose(ByteImages images, GridOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        options = (options ?? new GridOptions()).Validate();
        var layout = Layout(images.Count, images.Height, images.Width, options);
        var color = options.PaddingColor;
        var isGreyPadding = color.Red == color.Green && color.Green == color.Blue;
        var channels = images.Channels == 1 && isGreyPadding ? 1 : 3;
        var grid = new ByteImages(1, channels, layout.Height, layout.Width);
        Fill(grid, color);

        var scale = options.Scale;
        var source = images.Pixels;
        var target = grid.Pixels;
        for (var n = 0; n < images.Count; n++)
        {
            var left = layout.Left(n);
            var top = layout.Top(n);
            for (var y = 0; y < layout.CellHeight; y++)
            {
                var sourceRow = (n * images.Height + y / scale) * images.Width;
                var targetRow = (top + y) * layout.Width + left;
                for (var x = 0; x < layout.CellWidth; x++)
                {
                    var s = (sourceRow + x / scale) * images.Channels;
                    var t = (targetRow + x) * channels;
                    if (channels == images.Channels)
                    {
                        for (var c = 0; c < channels; c++) target[t + c] = source[s + c];
                    }
                    else
                    {
                        // Grey image on a coloured grid: the grey value goes to R, G and B.
                        target[t] = target[t + 1] = target[t + 2] = source[s];
                    }
                }
            }
        }

        return grid;
    }

    /// <summary>One grid image made from a [N, C, H, W] (or single [C, H, W]) tensor in [−1, 1].</summary>
    public static ByteImages Compose(Tensor images, GridOptions? options = null) => Compose(ByteImages.FromTensor(images), options);

    /// <summary>The grid as a new bitmap the caller disposes (<see cref="SKColorType.Gray8"/> or opaque <see cref="SKColorType.Rgba8888"/>).</summary>
    public static SKBitmap ToBitmap(Tensor images, GridOptions? options = null) => Compose(images, options).ToBitmap();

    /// <summary>The grid encoded as PNG.</summary>
    public static byte[] EncodePng(Tensor images, GridOptions? options = null) => Compose(images, options).EncodePng();

    /// <summary>Writes the grid to <paramref name="path"/> as PNG, atomically (<see cref="AtomicFile"/>).</summary>
    /// <exception cref="ArgumentException">Bad image shape or options.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void SavePng(Tensor images, string path, GridOptions? options = null) =>
        AtomicFile.WriteAllBytes(path, EncodePng(images, options));

    /// <summary>⌈√n⌉ in integers, free of floating-point edge cases at perfect squares.</summary>
    internal static int CeilingSqrt(int n)
    {
        var root = (int)Math.Sqrt(n);
        while ((long)root * root < n) root++;
        while (root > 1 && (long)(root - 1) * (root - 1) >= n) root--;
        return Math.Max(root, 1);
    }

    private static void Fill(ByteImages image, SKColor color)
    {
        if (image.Channels == 1)
        {
            Array.Fill(image.Pixels, color.Red);
            return;
        }

        var pixels = image.Pixels;
        for (var i = 0; i < pixels.Length; i += 3)
        {
            pixels[i] = color.Red;
            pixels[i + 1] = color.Green;
            pixels[i + 2] = color.Blue;
        }
    }
}
