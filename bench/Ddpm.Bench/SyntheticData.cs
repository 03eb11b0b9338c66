using Ddpm.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Bench;

/// <summary>An in-memory data set of uniform-noise byte images: the loader's cost without any disk reads.</summary>
internal static class SyntheticData
{
    public static ByteImageDataset Create(int channels, int size, int count, long seed = 0)
    {
        var imageSize = channels * size * size;
        using var generator = new Generator((ulong)seed);
        using var pixels = randint(0, 256, [count, imageSize], dtype: ScalarType.Byte, generator: generator);
        var all = pixels.data<byte>().ToArray();
        var images = new byte[count][];
        for (var i = 0; i < count; i++) images[i] = all.AsSpan(i * imageSize, imageSize).ToArray();
        return new ByteImageDataset("synthetic", channels, size, size, images);
    }
}
