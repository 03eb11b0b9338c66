using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Data;

/// <summary>Images of a data set as a tensor.</summary>
public static class DatasetImages
{
    /// <summary>Images <paramref name="first"/> … first + count − 1 as float32 [count, C, H, W] in [−1, 1], on <paramref name="device"/> (the CPU when null).</summary>
    public static Tensor Read(IDataset data, int first, int count, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (first < 0 || count < 0 || first + count > data.Count)
            throw new ArgumentException($"{data.Name} has {data.Count} images: images {first}..{first + count - 1} are not all there.");
        var size = data.Channels * data.Height * data.Width;
        var pixels = new float[(long)count * size];
        for (var i = 0; i < count; i++) data.CopyImage(first + i, pixels.AsSpan(i * size, size));
        var images = tensor(pixels, [count, data.Channels, data.Height, data.Width], ScalarType.Float32);
        if (device is null || device.type == DeviceType.CPU) return images;
        using (images) return images.to(device);
    }
}
