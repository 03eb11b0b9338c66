using Ddpm.Evaluation;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

/// <summary>PSNR, SSIM and masked MSE against their formulas.</summary>
public class ImageQualityTests
{
    [Fact]
    public void Psnr_and_masked_mse_follow_their_definitions()
    {
        using var scope = NewDisposeScope();
        var a = zeros(2, 1, 12, 12);
        var b = full(2, 1, 12, 12, 0.2f);
        // MSE 0.04 on a data range of 2: 10·log10(4 / 0.04) = 20 dB.
        Assert.All(ImageQuality.PeakSignalToNoiseRatio(a, b), p => Assert.Equal(20, p, 5));
        Assert.Equal(double.PositiveInfinity, ImageQuality.PeakSignalToNoiseRatio(a, a)[0]);
        var c = a.clone();
        c[0, 0, 0, 0] = tensor(1f);
        var mask = zeros(1, 1, 12, 12);
        mask[0, 0, TensorIndex.Slice(0, 2), TensorIndex.Slice(0, 2)] = tensor(1f);
        // One of the four masked pixels is off by 1.
        Assert.Equal([0.25, 0], ImageQuality.MeanSquaredError(c, a, mask));
        Assert.Throws<ArgumentException>(() => ImageQuality.MeanSquaredError(a, zeros(2, 1, 12, 11)));
    }

    [Fact]
    public void Ssim_is_one_for_equal_images_and_the_luminance_term_for_constant_ones()
    {
        using var scope = NewDisposeScope();
        var x = rand(3, 2, 16, 16) * 2 - 1;
        Assert.All(ImageQuality.StructuralSimilarity(x, x), s => Assert.Equal(1, s, 12));
        // Constant images have no variance: SSIM = (2ab + C1)/(a² + b² + C1), C1 = (0.01·2)².
        const double C1 = 0.0004;
        var expected = (2 * 0.5 * 0.3 + C1) / (0.25 + 0.09 + C1);
        Assert.All(ImageQuality.StructuralSimilarity(full(1, 1, 16, 16, 0.5f), full(1, 1, 16, 16, 0.3f)), s => Assert.Equal(expected, s, 6));
        Assert.All(ImageQuality.StructuralSimilarity(full(1, 1, 8, 8, 0.5f), full(1, 1, 8, 8, 0.3f)), s => Assert.Equal(expected, s, 6));
        // Noise lowers it, more noise more.
        var noise = randn(3, 2, 16, 16);
        var slightly = ImageQuality.StructuralSimilarity(x, x + noise * 0.1);
        var strongly = ImageQuality.StructuralSimilarity(x, x + noise * 0.5);
        Assert.All(slightly.Zip(strongly), p => Assert.True(p.First < 1 && p.Second < p.First, $"{p.First} then {p.Second}"));
    }
}
