using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>The four x̂_0 handlings, against their formulas evaluated in float64 on hand-made tensors.</summary>
public class DenoisedHandlingTests : IDisposable
{
    private const int T = 100;
    private readonly GaussianDiffusion diffusion = new(new DiffusionConfig { Schedule = new() { Timesteps = T } });

    public void Dispose()
    {
        diffusion.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>x_t of two 1×4×4 images, large enough that x̂_0 leaves [−1, 1] in places.</summary>
    private static double[][] Sample() =>
    [
        [.. Enumerable.Range(0, 16).Select(i => (i - 7.5) / 4.0)],
        [.. Enumerable.Range(0, 16).Select(i => Math.Sin(i * 1.3) * 0.6)],
    ];

    /// <summary>A stand-in for the model's ε̂.</summary>
    private static double[][] Output() =>
    [
        [.. Enumerable.Range(0, 16).Select(i => Math.Cos(i * 0.7) * 0.9)],
        [.. Enumerable.Range(0, 16).Select(i => (i % 5 - 2) * 0.2)],
    ];

    private static Tensor ToTensor(double[][] v) => tensor(v.SelectMany(r => r).Select(x => (float)x).ToArray()).reshape(v.Length, 1, 4, 4);

    /// <summary>torch.quantile's linear interpolation between order statistics.</summary>
    private static double Quantile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(x => x).ToArray();
        var position = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
    }

    private static double[] Expected(DenoisedHandling handling, double[] x0) => handling switch
    {
        DenoisedHandling.None => x0,
        DenoisedHandling.Clip or DenoisedHandling.ClipRecomputeEps => [.. x0.Select(v => Math.Clamp(v, -1, 1))],
        _ => DynamicExpected(x0),
    };

    private static double[] DynamicExpected(double[] x0)
    {
        var s = Math.Max(1.0, Quantile(x0.Select(Math.Abs), 0.995));
        return [.. x0.Select(v => Math.Clamp(v, -s, s) / s)];
    }

    private static void AssertClose(double[][] expected, Tensor actual, double tolerance = Tolerances.Float32)
    {
        var a = actual.to(ScalarType.Float64).reshape(-1).data<double>().ToArray();
        var e = expected.SelectMany(r => r).ToArray();
        Assert.Equal(e.Length, a.Length);
        for (var i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * Math.Max(1, Math.Abs(e[i])), $"element {i}: expected {e[i]}, got {a[i]}");
    }

    [Theory]
    [InlineData(DenoisedHandling.None)]
    [InlineData(DenoisedHandling.Clip)]
    [InlineData(DenoisedHandling.ClipRecomputeEps)]
    [InlineData(DenoisedHandling.DynamicThreshold)]
    public void Processing_matches_the_formula(DenoisedHandling handling)
    {
        using var scope = NewDisposeScope();
        double[][] x0 = [[.. Enumerable.Range(0, 16).Select(i => (i - 6.0) * 0.3)], [.. Enumerable.Range(0, 16).Select(i => (i - 8) * 0.05)]];
        AssertClose([.. x0.Select(r => Expected(handling, r))], handling.Apply(ToTensor(x0)));
    }

    [Fact]
    public void Dynamic_threshold_scales_an_image_with_large_values_and_only_clips_one_within_range()
    {
        using var scope = NewDisposeScope();
        // Image 0 reaches |x| = 2.7: s > 1 and the image is rescaled into [−1, 1] with its maximum near ±1.
        // Image 1 stays inside [−0.4, 0.35]: s = 1 and the image is unchanged.
        double[][] x0 = [[.. Enumerable.Range(0, 16).Select(i => (i - 6.0) * 0.3)], [.. Enumerable.Range(0, 16).Select(i => (i - 8) * 0.05)]];
        var result = DenoisedHandling.DynamicThreshold.Apply(ToTensor(x0));
        var s = Quantile(x0[0].Select(Math.Abs), 0.995);
        Assert.True(s > 1);
        Assert.Equal(1.0, result[0].abs().max().item<float>(), 5);
        AssertClose([x0[1]], result[1]);
    }

    [Theory]
    [InlineData(DenoisedHandling.None)]
    [InlineData(DenoisedHandling.Clip)]
    [InlineData(DenoisedHandling.ClipRecomputeEps)]
    [InlineData(DenoisedHandling.DynamicThreshold)]
    public void Ddim_step_matches_eq_12_with_each_handling(DenoisedHandling handling)
    {
        using var scope = NewDisposeScope();
        var sampler = new DdimSampler(diffusion, new DdimSamplerOptions { Steps = 10, Denoised = handling });
        var timestep = sampler.Timesteps[3];
        var previous = sampler.Timesteps[4];
        var ab = diffusion.Schedule.AlphasCumprod;
        var (abT, abPrev) = (ab[timestep], ab[previous]);
        var x = Sample();
        var eps = Output();
        var expected = new double[2][];
        for (var n = 0; n < 2; n++)
        {
            var x0 = x[n].Select((v, i) => (v - Math.Sqrt(1 - abT) * eps[n][i]) / Math.Sqrt(abT)).ToArray();
            var processed = Expected(handling, x0);
            var e = handling is DenoisedHandling.ClipRecomputeEps or DenoisedHandling.DynamicThreshold
                ? x[n].Select((v, i) => (v - Math.Sqrt(abT) * processed[i]) / Math.Sqrt(1 - abT)).ToArray()
                : eps[n];
            expected[n] = [.. processed.Select((v, i) => Math.Sqrt(abPrev) * v + Math.Sqrt(1 - abPrev) * e[i])];
        }
        var step = sampler.Step(ToTensor(eps), timestep, ToTensor(x));
        AssertClose(expected, step.Previous, 1e-4);
    }

    [Theory]
    [InlineData(DenoisedHandling.None)]
    [InlineData(DenoisedHandling.Clip)]
    [InlineData(DenoisedHandling.ClipRecomputeEps)]
    [InlineData(DenoisedHandling.DynamicThreshold)]
    public void Ddpm_step_mean_matches_eq_7_with_each_handling(DenoisedHandling handling)
    {
        using var scope = NewDisposeScope();
        using var sampler = new DdpmSampler(diffusion, new DdpmSamplerOptions { Denoised = handling });
        const int timestep = 30;
        var sc = diffusion.Schedule;
        var (abT, abPrev, beta, alpha) = (sc.AlphasCumprod[timestep], sc.AlphasCumprod[timestep - 1], sc.Betas[timestep], sc.Alphas[timestep]);
        var x = Sample();
        var eps = Output();
        var expected = new double[2][];
        for (var n = 0; n < 2; n++)
        {
            var x0 = x[n].Select((v, i) => (v - Math.Sqrt(1 - abT) * eps[n][i]) / Math.Sqrt(abT)).ToArray();
            var processed = Expected(handling, x0);
            // μ̃_t (Eq. 7) with the noise term zeroed.
            expected[n] = [.. processed.Select((v, i) => beta * Math.Sqrt(abPrev) / (1 - abT) * v + (1 - abPrev) * Math.Sqrt(alpha) / (1 - abT) * x[n][i])];
        }
        var xt = ToTensor(x);
        var step = sampler.Step(ToTensor(eps), timestep, xt, noise: zeros_like(xt));
        AssertClose(expected, step.Previous, 1e-4);
    }

    [Fact]
    public void ClipDenoised_maps_onto_clip_and_none()
    {
        Assert.Equal(DenoisedHandling.Clip, new SamplerSettings().EffectiveDenoised);
        // DDIM's default is the consistent form, chosen by measurement.
        Assert.Equal(DenoisedHandling.ClipRecomputeEps, SamplerSettings.Ddim(20).EffectiveDenoised);
        Assert.Equal(DenoisedHandling.Clip, (SamplerSettings.Ddim(20) with { Denoised = DenoisedHandling.Clip }).EffectiveDenoised);
        Assert.Equal(DenoisedHandling.None, new SamplerSettings { ClipDenoised = false }.Denoised);
        Assert.Equal(DenoisedHandling.Clip, new DdimSamplerOptions { ClipDenoised = true }.Denoised);
        Assert.False(new DdpmSamplerOptions { Denoised = DenoisedHandling.None }.ClipDenoised);
    }
}
