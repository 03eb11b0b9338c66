using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ddpm.Conditioning;

/// <summary>
/// The degradation and conditioning of super-resolution (SR3, Saharia et al. 2022): a high-resolution image is reduced by
/// an integer factor by averaging each factor × factor block (the area filter), and the model sees the low-resolution
/// image upsampled bicubically back to full size, concatenated to x_t.
/// </summary>
public static class SuperResolution
{
    /// <summary>The factors <c>ddpm train --task super-resolution --scale</c> offers.</summary>
    public static IReadOnlyList<int> Scales { get; } = [2, 4];

    /// <summary>The low-resolution image: the mean of every <paramref name="scale"/> × <paramref name="scale"/> block of <paramref name="images"/> [B, C, H, W].</summary>
    public static Tensor Downsample(Tensor images, int scale)
    {
        Check(images, scale);
        return F.avg_pool2d(images, [scale, scale]);
    }

    /// <summary>Bicubic upsampling (align_corners false, as PIL and diffusers) of <paramref name="lowResolution"/> to <paramref name="size"/> × <paramref name="size"/>, clamped to [−1, 1].</summary>
    public static Tensor Upsample(Tensor lowResolution, int size)
    {
        using var scope = NewDisposeScope();
        var up = F.interpolate(lowResolution, [size, size], mode: InterpolationMode.Bicubic, align_corners: false);
        return up.clamp(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The model's conditioning image for high-resolution training images: Upsample(Downsample(x, scale)).</summary>
    public static Tensor ConditionFor(Tensor images, int scale)
    {
        using var scope = NewDisposeScope();
        using var low = Downsample(images, scale);
        return Upsample(low, (int)images.shape[2]).MoveToOuterDisposeScope();
    }

    private static void Check(Tensor images, int scale)
    {
        if (scale < 1) throw new ArgumentException($"the scale must be at least 1 (got {scale}).");
        if (images.dim() != 4 || images.shape[2] % scale != 0 || images.shape[3] % scale != 0)
            throw new ArgumentException($"images [{string.Join(", ", images.shape)}] cannot be reduced by {scale}: their sides must be multiples of it.");
    }
}
