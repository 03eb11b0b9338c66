using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ddpm.Evaluation;

/// <summary>
/// Full-reference image quality of reconstructions (super-resolution, inpainting) against the originals, per image, in
/// float64, for images in [−1, 1] (a data range of 2): PSNR and SSIM. Written here because none of the project's
/// libraries provides them for tensors; the SSIM is Wang et al. 2004's reference form.
/// </summary>
public static class ImageQuality
{
    /// <summary>The data range of images in [−1, 1].</summary>
    public const double DataRange = 2.0;

    /// <summary>SSIM's Gaussian window: 11 × 11 with σ = 1.5 (Wang et al. 2004, §III-C).</summary>
    public const int WindowSize = 11;

    /// <summary>σ of the window.</summary>
    public const double WindowSigma = 1.5;

    /// <summary>SSIM's stabilising constants C1 = (K1·L)², C2 = (K2·L)² with K1 = 0.01, K2 = 0.03 (Wang et al. 2004).</summary>
    public const double K1 = 0.01, K2 = 0.03;

    /// <summary>Mean squared error of each image [N] between <paramref name="a"/> and <paramref name="b"/> [N, C, H, W], over the pixels where <paramref name="mask"/> (broadcast) is 1, or all.</summary>
    public static double[] MeanSquaredError(Tensor a, Tensor b, Tensor? mask = null)
    {
        Check(a, b);
        using var scope = NewDisposeScope();
        var squared = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).pow(2);
        Tensor perImage;
        if (mask is null)
        {
            perImage = squared.flatten(1).mean([1]);
        }
        else
        {
            var m = mask.to(ScalarType.Float64).expand_as(squared);
            perImage = (squared * m).flatten(1).sum([1]) / m.flatten(1).sum([1]);
        }
        return perImage.cpu().data<double>().ToArray();
    }

    /// <summary>PSNR in dB of each image: 10·log10(L² / MSE) with L = <see cref="DataRange"/> (infinite for identical images).</summary>
    public static double[] PeakSignalToNoiseRatio(Tensor a, Tensor b) =>
        [.. MeanSquaredError(a, b).Select(mse => 10 * Math.Log10(DataRange * DataRange / mse))];

    /// <summary>
    /// SSIM of each image: the mean over channels and 'valid' window positions of
    /// (2μ_aμ_b + C1)(2σ_ab + C2) / ((μ_a² + μ_b² + C1)(σ_a² + σ_b² + C2)), with Gaussian-weighted local statistics.
    /// Images smaller than the window use the largest odd window that fits (as scikit-image asks of its callers).
    /// </summary>
    public static double[] StructuralSimilarity(Tensor a, Tensor b)
    {
        Check(a, b);
        var side = (int)Math.Min(Math.Min(a.shape[2], a.shape[3]), WindowSize);
        if (side % 2 == 0) side--;
        using var scope = NewDisposeScope();
        var channels = a.shape[1];
        var x = a.to(ScalarType.Float64).cpu();
        var y = b.to(ScalarType.Float64).cpu();
        var window = Window(side).expand(channels, 1, side, side);
        Tensor Filter(Tensor v) => F.conv2d(v, window, groups: channels);
        var muX = Filter(x);
        var muY = Filter(y);
        var sigmaXx = Filter(x * x) - muX * muX;
        var sigmaYy = Filter(y * y) - muY * muY;
        var sigmaXy = Filter(x * y) - muX * muY;
        var c1 = Math.Pow(K1 * DataRange, 2);
        var c2 = Math.Pow(K2 * DataRange, 2);
        var map = (muX * muY * 2 + c1) * (sigmaXy * 2 + c2) / ((muX * muX + muY * muY + c1) * (sigmaXx + sigmaYy + c2));
        return map.flatten(1).mean([1]).data<double>().ToArray();
    }

    /// <summary>The normalised <paramref name="side"/> × <paramref name="side"/> Gaussian window (σ = 1.5) as [1, 1, side, side] float64.</summary>
    private static Tensor Window(int side)
    {
        var g = new double[side];
        for (var i = 0; i < side; i++)
        {
            var d = i - (side - 1) / 2.0;
            g[i] = Math.Exp(-d * d / (2 * WindowSigma * WindowSigma));
        }
        var sum = g.Sum();
        var values = new double[side * side];
        for (var i = 0; i < side; i++)
            for (var j = 0; j < side; j++) values[i * side + j] = g[i] * g[j] / (sum * sum);
        return tensor(values, [1, 1, side, side], ScalarType.Float64);
    }

    private static void Check(Tensor a, Tensor b)
    {
        if (a.dim() != 4 || !a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"images must be [N, C, H, W] of one shape (got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}]).");
    }
}
