using Ddpm.Schedules;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Schedules;

public class NoiseScheduleTests
{
    private static NoiseSchedule Make(BetaScheduleKind kind, int T = 1000) =>
        NoiseSchedule.Create(new ScheduleConfig { Kind = kind, Timesteps = T });

    // Golden values written straight from each schedule's formula (paper index t = i + 1, here 0-based i).
    private static double LinearBeta(int i, int T) => 1e-4 + (0.02 - 1e-4) * i / (T - 1);

    private static double QuadraticBeta(int i, int T)
    {
        var s = Math.Sqrt(1e-4) + (Math.Sqrt(0.02) - Math.Sqrt(1e-4)) * i / (T - 1);
        return s * s;
    }

    private static double SigmoidBeta(int i, int T)
    {
        var x = -6.0 + 12.0 * i / (T - 1);
        return 1e-4 + (0.02 - 1e-4) / (1 + Math.Exp(-x));
    }

    private static double CosineAlphaBar(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(499)]
    [InlineData(998)]
    [InlineData(999)]
    public void Linear_betas_follow_the_paper(int i)
    {
        using var s = Make(BetaScheduleKind.Linear);
        Assert.Equal(LinearBeta(i, 1000), s.Betas[i], Tolerances.Schedule);
        Assert.Equal(1 - LinearBeta(i, 1000), s.Alphas[i], Tolerances.Schedule);
    }

    [Fact]
    public void Linear_alpha_bar_is_the_running_product_and_ends_near_zero()
    {
        using var s = Make(BetaScheduleKind.Linear);
        var product = 1.0;
        for (var i = 0; i < 1000; i++)
        {
            product *= 1 - LinearBeta(i, 1000);
            Assert.Equal(product, s.AlphasCumprod[i], 1e-12);
        }
        // ᾱ_T ≈ 4.04e-5 for the paper's schedule: x_T carries almost no signal (§4, "L_T ≈ 1e-5 bits/dim").
        Assert.Equal(4.0358e-5, s.AlphasCumprod[999], 1e-8);
        Assert.Equal(Math.Sqrt(s.AlphasCumprod[500]), s.SqrtAlphasCumprod[500], Tolerances.Schedule);
        Assert.Equal(Math.Sqrt(1 - s.AlphasCumprod[500]), s.SqrtOneMinusAlphasCumprod[500], Tolerances.Schedule);
        Assert.Equal(1 / Math.Sqrt(s.AlphasCumprod[500]), s.SqrtRecipAlphasCumprod[500], 1e-10);
        Assert.Equal(Math.Sqrt(1 / s.AlphasCumprod[500] - 1), s.SqrtRecipM1AlphasCumprod[500], 1e-10);
        Assert.Equal(1.0, s.AlphasCumprodPrev[0]);
        Assert.Equal(s.AlphasCumprod[41], s.AlphasCumprodPrev[42]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(250)]
    [InlineData(999)]
    public void Quadratic_betas_are_squares_of_a_linspace(int i)
    {
        using var s = Make(BetaScheduleKind.Quadratic);
        Assert.Equal(QuadraticBeta(i, 1000), s.Betas[i], Tolerances.Schedule);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(500)]
    [InlineData(999)]
    public void Sigmoid_betas_span_sigmoid_of_minus_six_to_six(int i)
    {
        using var s = Make(BetaScheduleKind.Sigmoid);
        Assert.Equal(SigmoidBeta(i, 1000), s.Betas[i], Tolerances.Schedule);
    }

    [Fact]
    public void Cosine_schedule_matches_its_alpha_bar_and_clips_at_0_999()
    {
        using var s = Make(BetaScheduleKind.Cosine);
        foreach (var i in new[] { 0, 100, 500, 900 })
        {
            var expected = 1 - CosineAlphaBar((i + 1) / 1000.0) / CosineAlphaBar(i / 1000.0);
            Assert.Equal(Math.Min(expected, 0.999), s.Betas[i], Tolerances.Schedule);
            // ᾱ_t = f(t)/f(0) by construction (Nichol & Dhariwal 2021, Eq. 17), before clipping starts.
            Assert.Equal(CosineAlphaBar((i + 1) / 1000.0) / CosineAlphaBar(0), s.AlphasCumprod[i], 1e-10);
        }
        Assert.Equal(0.999, s.Betas[999], Tolerances.Schedule);
    }

    [Fact]
    public void Posterior_variance_and_coefficients_follow_eq_7()
    {
        using var s = Make(BetaScheduleKind.Linear);
        foreach (var i in new[] { 1, 487, 999 })
        {
            var abPrev = s.AlphasCumprod[i - 1];
            var ab = s.AlphasCumprod[i];
            var beta = LinearBeta(i, 1000);
            Assert.Equal((1 - abPrev) / (1 - ab) * beta, s.PosteriorVariance[i], Tolerances.Schedule);
            Assert.Equal(beta * Math.Sqrt(abPrev) / (1 - ab), s.PosteriorMeanCoef1[i], Tolerances.Schedule);
            Assert.Equal((1 - abPrev) * Math.Sqrt(1 - beta) / (1 - ab), s.PosteriorMeanCoef2[i], Tolerances.Schedule);
        }
        // diffusers' test_variance: β̃ at 487 ≈ 0.00979 and at 999 ≈ 0.02.
        Assert.Equal(0.00979, s.PosteriorVariance[487], 1e-5);
        Assert.Equal(0.02, s.PosteriorVariance[999], 1e-5);
        Assert.Equal(0.0, s.PosteriorVariance[0]);
        Assert.Equal(Math.Log(s.PosteriorVariance[1]), s.PosteriorLogVarianceClipped[0], Tolerances.Schedule);
        Assert.Equal(Math.Log(s.PosteriorVariance[2]), s.PosteriorLogVarianceClipped[2], Tolerances.Schedule);
    }

    [Fact]
    public void Any_length_works_and_respacing_keeps_alpha_bar()
    {
        using var shortChain = Make(BetaScheduleKind.Linear, 10);
        Assert.Equal(10, shortChain.Timesteps);
        Assert.Equal(0.02, shortChain.Betas[9], Tolerances.Schedule);

        using var s = Make(BetaScheduleKind.Linear);
        int[] kept = [0, 100, 250, 999];
        using var r = s.Respace(kept);
        for (var i = 0; i < kept.Length; i++) Assert.Equal(s.AlphasCumprod[kept[i]], r.AlphasCumprod[i], 1e-12);
        Assert.Equal(s.Betas[0], r.Betas[0], Tolerances.Schedule);
    }

    [Fact]
    public void Tensor_copies_are_float32_views_of_the_float64_values()
    {
        using var s = Make(BetaScheduleKind.Linear);
        var t = s.Tensors;
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, t.AlphasCumprod.dtype);
        Assert.Equal((float)s.AlphasCumprod[123], t.AlphasCumprod[123].item<float>());
        Assert.Equal((float)s.PosteriorVariance[1], t.LargeVariance[0].item<float>());
        Assert.Equal((float)s.Betas[5], t.LargeVariance[5].item<float>());
    }

    [Theory]
    [InlineData(0, 1e-4, 0.02)]
    [InlineData(1000, 0.0, 0.02)]
    [InlineData(1000, 0.02, 1e-4)]
    [InlineData(1000, 1e-4, 1.5)]
    public void Invalid_configurations_are_rejected(int T, double start, double end) =>
        Assert.Throws<ArgumentException>(() => new ScheduleConfig { Timesteps = T, BetaStart = start, BetaEnd = end }.Validate());
}
