using System.Globalization;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Imaging;

/// <summary>Single images to and from PNG files. Tensors are in [−1, 1]; see <see cref="PixelConversion"/> for the rounding.</summary>
public static class ImageFiles
{
    /// <summary>Digits of the index in <see cref="SaveEach"/> file names (sample-00000.png); larger indices simply use more digits.</summary>
    public const int IndexDigits = 5;

    /// <summary>Luma weights of ITU-R BT.601, used when a colour file is loaded as one grey channel (as PIL's "L" mode).</summary>
    private const double LumaRed = 0.299, LumaGreen = 0.587, LumaBlue = 0.114;

    /// <summary>One image encoded as PNG.</summary>
    /// <param name="image">[C, H, W] or [1, C, H, W] in [−1, 1], C = 1 or 3.</param>
    /// <exception cref="ArgumentException">Bad shape, or more than one image (use <see cref="SaveEach"/> or <see cref="ImageGrid"/>).</exception>
    public static byte[] EncodePng(Tensor image)
    {
        var shape = ImageShape.Of(image);
        if (shape.Count != 1)
            throw new ArgumentException($"Expected one image but got {shape.Count}; use ImageFiles.SaveEach or ImageGrid.SavePng for a batch.", nameof(image));
        return ByteImages.FromTensor(image).EncodePng();
    }

    /// <summary>Writes one image to <paramref name="path"/> as PNG, atomically (<see cref="AtomicFile"/>).</summary>
    /// <param name="image">[C, H, W] or [1, C, H, W] in [−1, 1], C = 1 or 3.</param>
    /// <param name="path">The PNG file to create or replace; its directory is created if needed.</param>
    /// <exception cref="ArgumentException">Bad shape or more than one image.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void SavePng(Tensor image, string path) => AtomicFile.WriteAllBytes(path, EncodePng(image));

    /// <summary>
    /// Writes every image of a batch to its own PNG file, <c>{prefix}-{index:D5}.png</c> with index counting up from
    /// <paramref name="startIndex"/>, each atomically. Returns the paths written, in order.
    /// </summary>
    /// <param name="images">[N, C, H, W] (or one [C, H, W]) in [−1, 1].</param>
    /// <param name="directory">Created if needed.</param>
    /// <param name="prefix">File name start; must not contain path separators or characters invalid in file names.</param>
    /// <param name="startIndex">Index of the first image, so successive batches can continue the numbering.</param>
    public static IReadOnlyList<string> SaveEach(Tensor images, string directory, string prefix = "sample", int startIndex = 0)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new ArgumentException("The output directory must not be empty.", nameof(directory));
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || prefix.Contains('/', StringComparison.Ordinal) || prefix.Contains('\\', StringComparison.Ordinal))
            throw new ArgumentException($"The file name prefix '{prefix}' contains a path separator or a character invalid in file names.", nameof(prefix));
        if (startIndex < 0) throw new ArgumentException($"The start index must not be negative (got {startIndex}).", nameof(startIndex));

        var bytes = ByteImages.FromTensor(images);
        if ((long)startIndex + bytes.Count - 1 > int.MaxValue)
            throw new ArgumentException($"Indices from {startIndex} for {bytes.Count} images overflow.", nameof(startIndex));
        var paths = new List<string>(bytes.Count);
        for (var n = 0; n < bytes.Count; n++)
        {
            var path = Path.Combine(directory, FileName(prefix, startIndex + n));
            AtomicFile.WriteAllBytes(path, bytes.EncodePng(n));
            paths.Add(path);
        }

        return paths;
    }

    /// <summary>The file name <see cref="SaveEach"/> gives image <paramref name="index"/>: <c>{prefix}-{index:D5}.png</c>.</summary>
    public static string FileName(string prefix, int index) =>
        $"{prefix}-{index.ToString("D" + IndexDigits, CultureInfo.InvariantCulture)}.png";

    /// <summary>
    /// Reads an image file (PNG, or anything else SkiaSharp decodes: JPEG, BMP, WebP, the first frame of a GIF) into a
    /// float32 [C, H, W] CPU tensor in [−1, 1] (byte b → b/127.5 − 1, the inverse of saving, so a save/load round trip is
    /// within 1/255 of the original). Alpha is dropped.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="channels">
    /// 1 or 3 to force grey or RGB; null keeps the file's own kind (grey for grey PNGs, RGB otherwise).
    /// Colour read as grey uses BT.601 luma; grey read as RGB repeats the grey value.
    /// </param>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can decode.</exception>
    public static Tensor Load(string path, int? channels = null)
    {
        using var scope = NewDisposeScope();
        return LoadBytes(path, channels).ToTensor().squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>As <see cref="Load"/>, but the 8-bit pixels themselves (one image).</summary>
    public static ByteImages LoadBytes(string path, int? channels = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("The image path must not be empty.", nameof(path));
        if (channels is { } c) ImageShape.CheckChannels(c);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image file '{Path.GetFullPath(path)}' does not exist.", path);

        using var codec = SKCodec.Create(path)
            ?? throw new InvalidDataException($"'{Path.GetFullPath(path)}' is not an image SkiaSharp can decode.");
        var info = codec.Info;
        var isGreyFile = info.ColorType is SKColorType.Gray8 or SKColorType.Alpha8;
        var outChannels = channels ?? (isGreyFile ? 1 : 3);

        // Decode to unpremultiplied RGBA in the file's own colour space, so no colour conversion alters the values.
        var decodeInfo = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul, info.ColorSpace);
        using var bitmap = new SKBitmap(decodeInfo);
        var result = codec.GetPixels(decodeInfo, bitmap.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"Cannot decode '{Path.GetFullPath(path)}': {result}.");

        var image = new ByteImages(1, outChannels, info.Height, info.Width);
        var source = bitmap.GetPixelSpan();
        var rowBytes = bitmap.RowBytes;
        var target = image.Pixels;
        for (var y = 0; y < info.Height; y++)
        {
            for (var x = 0; x < info.Width; x++)
            {
                var s = y * rowBytes + 4 * x;
                var t = (y * info.Width + x) * outChannels;
                byte r = source[s], g = source[s + 1], b = source[s + 2];
                if (outChannels == 3)
                {
                    target[t] = r;
                    target[t + 1] = g;
                    target[t + 2] = b;
                }
                else
                {
                    target[t] = r == g && g == b ? r : (byte)Math.Round(LumaRed * r + LumaGreen * g + LumaBlue * b, MidpointRounding.AwayFromZero);
                }
            }
        }

        return image;
    }
}
