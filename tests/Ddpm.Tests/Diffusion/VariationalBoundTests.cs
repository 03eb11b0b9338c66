using CsCheck;
using Ddpm.Diffusion;
using Ddpm.Schedules;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Diffusion;

/// <summary>The bound's pieces against closed forms computed here in float64: Gaussian KL, the decoder, L_T, and an oracle model.</summary>
public class VariationalBoundTests
{
    private static double Kl(double m1, double v1, double m2, double v2) =>
        0.5 * (Math.Log(v2 / v1) + v1 / v2 - 1 + (m1 - m2) * (m1 - m2) / v2);

    private static double Item(Tensor t) => t.to(ScalarType.Float64).item<double>();

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(3.5, -7.0)]
    [InlineData(-50.0, 4.0)]
    public void Kl_of_identical_gaussians_is_zero(double mean, double logVariance)
    {
        using var scope = NewDisposeScope();
        var m = tensor(mean);
        var v = tensor(logVariance);
        Assert.Equal(0.0, Item(GaussianMath.NormalKl(m, v, m, v)));
    }

    [Theory]
    [InlineData(1.0, 1.0, 0.0, 1.0)] // ½
    [InlineData(0.0, 1.0, 0.0, 4.0)] // ½(ln 4 − 3/4)
    [InlineData(2.0, 0.25, -1.0, 2.0)] // ½(ln 8 + 1/8 − 1 + 9/2)
    [InlineData(0.3, 1e-4, 0.3001, 2e-4)]
    public void Kl_matches_the_closed_form(double m1, double var1, double m2, double var2)
    {
        using var scope = NewDisposeScope();
        var kl = GaussianMath.NormalKl(tensor(m1, ScalarType.Float32), tensor(Math.Log(var1)), tensor(m2, ScalarType.Float32), tensor(Math.Log(var2)));
        Assert.Equal(ScalarType.Float64, kl.dtype);
        var expected = Kl((float)m1, var1, (float)m2, var2);
        Assert.Equal(expected, Item(kl), 1e-12 + 1e-10 * expected);
    }

    [Fact]
    public void Log_normal_cdf_is_accurate_in_both_tails()
    {
        using var scope = NewDisposeScope();
        var values = GaussianMath.LogNormalCdf(tensor(new[] { -40.0, -5.0, 0.0, 5.0, 40.0 })).data<double>().ToArray();
        // log Φ(−40) = −800 − ln(40·√(2π)) − ln(1 − 1/1600 + 3/1600² …) (Mills' ratio); Φ(−5) = 2.866515718791939e-7.
        Assert.Equal(-800 - Math.Log(40 * Math.Sqrt(2 * Math.PI)) - 1.0 / 1600 + 2.5 / (1600.0 * 1600), values[0], 1e-8);
        Assert.Equal(Math.Log(2.866515718791939e-7), values[1], 1e-10);
        Assert.Equal(-Math.Log(2), values[2], 1e-15);
        Assert.Equal(-2.866515718791939e-7 - 0.5 * 2.866515718791939e-7 * 2.866515718791939e-7, values[3], 1e-19);
        Assert.True(values[4] <= 0 && values[4] > -1e-300);
    }

    private static double[] BinProbabilities(double mean, double logScale)
    {
        using var scope = NewDisposeScope();
        var logp = DiscretizedGaussian.LogLikelihood(DiscretizedGaussian.BinCentres(), tensor(mean), tensor(logScale));
        return logp.exp().data<double>().ToArray();
    }

    private static void AssertADistribution(double mean, double logScale)
    {
        var p = BinProbabilities(mean, logScale);
        Assert.Equal(256, p.Length);
        Assert.All(p, v => Assert.True(double.IsFinite(v) && v > 0, $"p = {v} at mean {mean}, log σ {logScale}"));
        // Floors of 1e-12 on up to 255 bins may add 2.6e-10.
        Assert.True(Math.Abs(p.Sum() - 1) < 1e-9, $"Σp − 1 = {p.Sum() - 1} at mean {mean}, log σ {logScale}");
    }

    [Fact]
    public void Decoder_probabilities_sum_to_one_for_any_mean_and_scale() =>
        Gen.Select(Gen.Double[-60, 60], Gen.Double[-30, 12]).Sample(AssertADistribution, iter: 300);

    [Theory]
    [InlineData(50.0, -30.0)]
    [InlineData(-50.0, -30.0)]
    [InlineData(50.0, 30.0)]
    [InlineData(-50.0, 30.0)]
    [InlineData(0.5 / 255, -40.0)] // on the boundary of two bins
    [InlineData(0.0, -700.0)] // σ underflows: standardised edges are ±∞
    public void Decoder_is_finite_and_normalised_far_in_the_tails(double mean, double logScale)
    {
        AssertADistribution(mean, logScale);
        using var scope = NewDisposeScope();
        var logp = DiscretizedGaussian.LogLikelihood(DiscretizedGaussian.BinCentres(), tensor(mean), tensor(logScale));
        Assert.True(logp.isfinite().all().item<bool>());
        Assert.True(logp.min().item<double>() >= Math.Log(DiscretizedGaussian.MinProbability) - 1e-12);
    }

    [Fact]
    public void Decoder_gives_a_bin_the_gaussian_mass_over_it()
    {
        // Mean 0.1, σ 0.5; bins at level 140 (interior), 0 and 255 (open to ∓∞).
        const double mean = 0.1, sigma = 0.5;
        var p = BinProbabilities(mean, Math.Log(sigma));
        double Cdf(double x) => 0.5 + Integral((x - mean) / sigma);
        Assert.Equal(Cdf(140 / 127.5 - 1 + 1 / 255.0) - Cdf(140 / 127.5 - 1 - 1 / 255.0), p[140], 1e-12);
        Assert.Equal(Cdf(-1 + 1 / 255.0), p[0], 1e-12);
        Assert.Equal(1 - Cdf(1 - 1 / 255.0), p[255], 1e-12);
    }

    /// <summary>∫₀^z φ(u) du by composite Simpson's rule (signed), φ the standard normal density.</summary>
    private static double Integral(double z)
    {
        const int n = 20000;
        var h = z / n;
        double Phi(double u) => Math.Exp(-0.5 * u * u) / Math.Sqrt(2 * Math.PI);
        var sum = Phi(0) + Phi(z);
        for (var i = 1; i < n; i++) sum += (i % 2 == 1 ? 4 : 2) * Phi(i * h);
        return sum * h / 3;
    }

    private static Tensor BinImages(long seed, params long[] shape)
    {
        using var g = new Generator((ulong)seed);
        return randint(0, 256, shape, dtype: ScalarType.Int32, generator: g).to(ScalarType.Float32) / 127.5 - 1.0;
    }

    [Fact]
    public void Prior_term_under_the_linear_schedule_is_about_1e_5_bits_per_dim()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig());
        var bound = new VariationalBound(d);
        var x0 = BinImages(1, 64, 1, 28, 28);
        var prior = bound.PriorBits(x0).data<double>().ToArray();
        var abar = d.Schedule.AlphasCumprod[^1];
        var x = x0.to(ScalarType.Float64).flatten(1);
        for (var i = 0; i < prior.Length; i++)
        {
            var pixels = x[i].data<double>().ToArray();
            var expected = pixels.Average(v => Kl(Math.Sqrt(abar) * v, 1 - abar, 0, 1)) / Math.Log(2);
            Assert.Equal(expected, prior[i], 1e-12);
            Assert.True(prior[i] < 1.2e-5, $"L_T = {prior[i]} bits/dim");
        }
        // Even the farthest data, every pixel at ±1, stays within three times that.
        Assert.True(bound.PriorBits(ones(1, 1, 4, 4)).item<double>() < 3e-5);
    }

    [Fact]
    public void With_an_oracle_every_kl_term_is_zero_and_the_bound_is_prior_plus_decoder()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { VarianceType = ModelVarianceType.FixedSmall });
        var x0 = BinImages(2, 2, 1, 4, 4);
        // The oracle knows x_0: its ε is the noise of the forward draw, so x̂_0 = x_0 and μ_θ is the true posterior mean.
        Tensor Oracle(Tensor xt, Tensor t) => d.PredictNoiseFromStart(xt, t, x0);
        var estimator = new LikelihoodEstimator(d, Oracle);
        var batch = estimator.EvaluateBatch(x0, 0, seed: 5);
        for (var t = 1; t < d.Timesteps; t++) Assert.True(Math.Abs(batch.TermSums[t]) < 1e-6, $"term {t}: {batch.TermSums[t]} bits/dim");

        // L_0 by hand: the decoder is centred on x_0 (μ̃ at t = 1 is x_0) with σ² = β̃ of paper step 2.
        var sigma = Math.Sqrt(d.Schedule.PosteriorVariance[1]);
        var half = Integral(1 / 255.0 / sigma);
        var pixels = x0.flatten(1).data<float>().ToArray();
        for (var i = 0; i < 2; i++)
        {
            var image = pixels.Skip(i * 16).Take(16);
            var decoder = image.Average(v => -Math.Log(Math.Abs(v) > 0.999 ? 0.5 + half : 2 * half)) / Math.Log(2);
            var prior = image.Average(v => Kl(Math.Sqrt(d.Schedule.AlphasCumprod[^1]) * v, 1 - d.Schedule.AlphasCumprod[^1], 0, 1)) / Math.Log(2);
            var bound = batch.Images[i];
            Assert.Equal(decoder, bound.Decoder, 1e-4 * decoder);
            Assert.Equal(prior, bound.Prior, 1e-12);
            Assert.Equal(prior + decoder, bound.Total, 1e-4 * decoder);
        }
    }

    [Fact]
    public void The_kl_term_honours_the_variance_type()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { VarianceType = ModelVarianceType.FixedLarge });
        var bound = new VariationalBound(d);
        var x0 = BinImages(3, 2, 1, 4, 4);
        using var g = new Generator(4);
        var t = GaussianDiffusion.TimestepTensor(1, 2);
        var noise = randn(x0.shape, generator: g);
        var xt = d.QSample(x0, t, noise);
        var term = bound.Term(d.PredictNoiseFromStart(xt, t, x0), x0, xt, t).Bits.data<double>().ToArray();
        // Same means, σ² = β_t against β̃_t: ½(β̃/β − 1 − ln(β̃/β)) nats per dimension.
        var ratio = (double)(float)d.Schedule.PosteriorVariance[1] / (float)d.Schedule.Betas[1];
        var expected = 0.5 * (ratio - 1 - Math.Log(ratio)) / Math.Log(2);
        Assert.All(term, v => Assert.Equal(expected, v, 1e-6));
        Assert.True(expected > 0.1);
    }

    [Fact]
    public void Term_takes_the_decoder_at_t0_and_the_kl_elsewhere_within_one_batch()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 10 } });
        var bound = new VariationalBound(d);
        var x0 = BinImages(6, 2, 1, 3, 3);
        var xt = x0 * 0.9;
        var mean = x0 + 0.01;
        var logVariance = full(1, Math.Log(1e-4));
        var mixed = bound.TermBits(x0, xt, tensor(new long[] { 0, 3 }), mean, logVariance).data<double>().ToArray();
        var zero = bound.TermBits(x0, xt, tensor(new long[] { 0, 0 }), mean, logVariance).data<double>().ToArray();
        var three = bound.TermBits(x0, xt, tensor(new long[] { 3, 3 }), mean, logVariance).data<double>().ToArray();
        Assert.Equal(zero[0], mixed[0]);
        Assert.Equal(three[1], mixed[1]);
        Assert.NotEqual(zero[1], three[1]);
    }
}
