using System.Security.Cryptography;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>What every extractor does to its input: check it, move it, match the network's channel count and size; and hash weight files.</summary>
internal static class ExtractorInput
{
    // ITU-R BT.601 luma weights of R, G and B.
    private static readonly float[] LumaWeights = [0.299f, 0.587f, 0.114f];

    /// <summary>Images [N, C, H, W] in [−1, 1] as float32 on <paramref name="device"/> with <paramref name="channels"/> channels (RGB → ITU-R BT.601 luma, grey repeated).</summary>
    public static Tensor Channels(Tensor images, int channels, Device device)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"Expected images [N, 1 or 3, H, W], got [{string.Join(", ", images.shape)}].", nameof(images));
        var x = images.to(ScalarType.Float32, device);
        var have = images.shape[1];
        if (have == channels) return x;
        using (x)
        {
            if (channels == 3) return x.expand(-1, 3, -1, -1).contiguous();
            using var weights = tensor(LumaWeights, device: device).view(1, 3, 1, 1);
            return (x * weights).sum(1, keepdim: true);
        }
    }

    /// <summary>Bilinear resize to <paramref name="size"/>×size (half-pixel centres, align_corners = False, no antialiasing, as <c>F.interpolate</c>).</summary>
    public static Tensor Resize(Tensor x, int size)
    {
        if (x.shape[2] == size && x.shape[3] == size) return x.alias();
        return nn.functional.interpolate(x, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
    }

    /// <summary>SHA-256 of a file's bytes, lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
