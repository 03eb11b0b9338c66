using System.Buffers.Binary;
using System.IO.Compression;
using Ddpm.Data;
using SkiaSharp;

namespace Ddpm.Tests.Data;

/// <summary>Writes small data files in the real formats, for the loader tests.</summary>
internal static class TestData
{
    /// <summary>The byte at position <paramref name="p"/> of test image <paramref name="i"/>: distinct per image, with 0 and 255 present.</summary>
    public static byte Pixel(int i, int p) => p == 0 ? (byte)0 : p == 1 ? (byte)255 : (byte)((i * 37 + p * 11) % 256);

    public static byte[] IdxImages(int count, int rows, int columns, int magic = IdxDataset.ImagesMagic)
    {
        var bytes = new byte[16 + count * rows * columns];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), columns);
        for (var i = 0; i < count; i++)
        {
            for (var p = 0; p < rows * columns; p++) bytes[16 + i * rows * columns + p] = Pixel(i, p);
        }
        return bytes;
    }

    public static byte[] IdxLabels(IReadOnlyList<int> labels)
    {
        var bytes = new byte[8 + labels.Count];
        BinaryPrimitives.WriteInt32BigEndian(bytes, IdxDataset.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), labels.Count);
        for (var i = 0; i < labels.Count; i++) bytes[8 + i] = (byte)labels[i];
        return bytes;
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(raw);
        return output.ToArray();
    }

    /// <summary>A CIFAR-10 record: the label, then R, G and B planes with R[p] = p % 256, G[p] = image, B[p] = 255 − p % 256.</summary>
    public static byte[] CifarRecords(int count, int firstImage = 0)
    {
        var bytes = new byte[count * Cifar10Dataset.RecordSize];
        for (var r = 0; r < count; r++)
        {
            var o = r * Cifar10Dataset.RecordSize;
            bytes[o] = (byte)((firstImage + r) % 10);
            for (var p = 0; p < 1024; p++)
            {
                bytes[o + 1 + p] = (byte)(p % 256);
                bytes[o + 1 + 1024 + p] = (byte)(firstImage + r);
                bytes[o + 1 + 2048 + p] = (byte)(255 - p % 256);
            }
        }
        return bytes;
    }

    /// <summary>Encodes an image whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public static void WriteImage(string path, int width, int height, Func<int, int, SKColor> color, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++) bitmap.SetPixel(x, y, color(x, y));
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>Image <paramref name="index"/> of <paramref name="dataset"/> as floats.</summary>
    public static float[] Image(IDataset dataset, int index)
    {
        var values = new float[dataset.Channels * dataset.Height * dataset.Width];
        dataset.CopyImage(index, values);
        return values;
    }

    /// <summary>The byte a model-range value came from.</summary>
    public static int ToByte(float value) => (int)Math.Round((value + 1) * PixelScaling.HalfRange);
}
