using Ddpm.Analysis;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Analysis;

/// <summary>Interpolation in latent space (Fig. 8) on a tiny untrained U-Net: its ends decode the sources alone, and a seed fixes it.</summary>
public sealed class InterpolationTests : IDisposable
{
    /// <summary>A batch of five against a batch of one through the U-Net: float32 kernels may differ in the last bits.</summary>
    private const double BatchTolerance = 1e-5;

    private readonly GaussianDiffusion diffusion = new(TinyRuns.Config().Diffusion);
    private readonly UNet network = TinyRuns.Network(5);

    private Interpolation Create() => new(diffusion, (x, t) => network.call(x, t));

    private static Tensor Image(long seed)
    {
        using var g = new Generator((ulong)seed);
        return (rand([1, 8, 8], generator: g) * 2 - 1);
    }

    [Fact]
    public void The_ends_equal_decoding_each_source_alone_with_the_same_noise()
    {
        using var scope = NewDisposeScope();
        var a = Image(1);
        var b = Image(2);
        var interpolation = Create();
        var row = interpolation.Interpolate(a, b, timestep: 30, count: 5, seed: 11);
        Assert.Equal([5L, 1, 8, 8], row.shape);
        var aloneA = interpolation.Decode(interpolation.Diffuse(a.unsqueeze(0), 30, 11), 30, 11);
        var aloneB = interpolation.Decode(interpolation.Diffuse(b.unsqueeze(0), 30, 11), 30, 11);
        Assert.True(row[0].allclose(aloneA[0], rtol: 0, atol: BatchTolerance));
        Assert.True(row[4].allclose(aloneB[0], rtol: 0, atol: BatchTolerance));
        Assert.False(row[2].allclose(row[0], rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void Both_sources_get_the_same_forward_noise_and_the_same_seed_gives_the_same_bytes()
    {
        using var scope = NewDisposeScope();
        var interpolation = Create();
        var a = Image(1);
        var b = Image(2);
        // x_t − √ᾱ_t x_0 is the noise term: the same for both sources.
        var both = interpolation.Diffuse(stack([a, b]), 40, 3);
        var sqrtAlphaBar = Math.Sqrt(diffusion.Schedule.AlphasCumprod[40]);
        Assert.True((both[0] - sqrtAlphaBar * a).allclose(both[1] - sqrtAlphaBar * b, rtol: 0, atol: Tolerances.Float32));

        var first = interpolation.Interpolate(a, b, 10, 3, seed: 4);
        var again = interpolation.Interpolate(a, b, 10, 3, seed: 4);
        var other = interpolation.Interpolate(a, b, 10, 3, seed: 5);
        Assert.True(Same.Bytes(first, again));
        Assert.False(Same.Bytes(first, other));
    }

    [Fact]
    public void A_depth_outside_the_chain_or_a_single_image_is_refused()
    {
        using var scope = NewDisposeScope();
        var interpolation = Create();
        Assert.Contains("0..99", Assert.Throws<ArgumentException>(() => interpolation.Interpolate(Image(1), Image(2), 100, 3, 0)).Message);
        Assert.Throws<ArgumentException>(() => interpolation.Interpolate(Image(1), Image(2), -1, 3, 0));
        Assert.Throws<ArgumentException>(() => interpolation.Interpolate(Image(1), Image(2), 5, 1, 0));
        Assert.Throws<ArgumentException>(() => interpolation.Interpolate(Image(1), zeros(1, 4, 4), 5, 3, 0));
    }

    public void Dispose()
    {
        network.Dispose();
        diffusion.Dispose();
    }
}
