using Ddpm.Diffusion;
using Ddpm.Schedules;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Diffusion;

public class GaussianDiffusionTests
{
    private static GaussianDiffusion Make(ModelMeanType mean = ModelMeanType.Epsilon, ModelVarianceType variance = ModelVarianceType.FixedLarge) =>
        new(new DiffusionConfig { MeanType = mean, VarianceType = variance });

    [Fact]
    public void QSample_has_the_mean_and_variance_of_eq_4()
    {
        using var d = Make();
        using var scope = NewDisposeScope();
        using var g = new Generator(1);
        const int draws = 20000;
        const int timestep = 300;
        var x0 = full([draws, 1], 0.7f);
        var t = full([draws], timestep, dtype: ScalarType.Int64);
        var xt = d.QSample(x0, t, randn([draws, 1], generator: g));
        var ab = d.Schedule.AlphasCumprod[timestep];
        // Mean √ᾱ x0 and variance 1 − ᾱ; the standard error of the mean is √((1 − ᾱ)/n) ≈ 0.006.
        Assert.Equal(Math.Sqrt(ab) * 0.7, xt.mean().item<float>(), 0.03);
        Assert.Equal(1 - ab, xt.var().item<float>(), 0.03);
    }

    [Fact]
    public void Posterior_mean_from_true_x0_equals_algorithm_2_mean_with_true_noise()
    {
        using var d = Make();
        using var scope = NewDisposeScope();
        using var g = new Generator(2);
        var x0 = rand([4, 1, 5, 5], generator: g) * 2 - 1;
        var eps = randn([4, 1, 5, 5], generator: g);
        int[] ts = [1, 10, 500, 999];
        var t = tensor(ts.Select(v => (long)v).ToArray());
        var xt = d.QSample(x0, t, eps);
        var posterior = d.QPosteriorMeanVariance(x0, xt, t);
        for (var i = 0; i < ts.Length; i++)
        {
            var s = d.Schedule;
            var k = ts[i];
            // Eq. (11): μ = (x_t − β_t/√(1 − ᾱ_t) ε)/√α_t.
            var expected = (xt[i] - eps[i] * (s.Betas[k] / Math.Sqrt(1 - s.AlphasCumprod[k]))) / Math.Sqrt(s.Alphas[k]);
            Assert.True(posterior.Mean[i].allclose(expected, rtol: 0, atol: Tolerances.Oracle), $"t={k}");
            Assert.Equal(s.PosteriorVariance[k], posterior.Variance[i].item<float>(), 1e-7);
        }
    }

    [Theory]
    [InlineData(ModelMeanType.Epsilon)]
    [InlineData(ModelMeanType.StartX)]
    [InlineData(ModelMeanType.Velocity)]
    public void Each_parameterisation_recovers_x0_from_its_exact_target(ModelMeanType meanType)
    {
        using var d = Make(meanType);
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var x0 = rand([3, 2, 4, 4], generator: g) * 2 - 1;
        var eps = randn([3, 2, 4, 4], generator: g);
        var t = tensor(new long[] { 0, 400, 999 });
        var xt = d.QSample(x0, t, eps);
        var target = d.TrainingTarget(x0, t, eps);
        var p = d.PMeanVariance(target, xt, t, clipDenoised: false);
        // At t = 999 x̂0 from ε divides by √ᾱ ≈ 0.006, amplifying float32 rounding: compare relative to that.
        Assert.True(p.PredictedStart.allclose(x0, rtol: 0, atol: 2e-3), $"{meanType}");
        Assert.True(p.PredictedStart[..2].allclose(x0[..2], rtol: 0, atol: Tolerances.Oracle));
        var noiseBack = d.PredictNoiseFromStart(xt, t, x0);
        Assert.True(noiseBack.allclose(eps, rtol: 0, atol: 2e-3));
    }

    [Fact]
    public void Fixed_large_variance_is_beta_except_at_index_0()
    {
        using var d = Make(variance: ModelVarianceType.FixedLarge);
        using var scope = NewDisposeScope();
        var x = zeros([3, 1, 2, 2]);
        var t = tensor(new long[] { 0, 1, 999 });
        var p = d.PMeanVariance(x, x, t);
        var s = d.Schedule;
        Assert.Equal(s.PosteriorVariance[1], p.Variance[0].item<float>(), 1e-9);
        Assert.Equal(s.Betas[1], p.Variance[1].item<float>(), 1e-9);
        Assert.Equal(s.Betas[999], p.Variance[2].item<float>(), 1e-8);
        using var small = Make(variance: ModelVarianceType.FixedSmall);
        var q = small.PMeanVariance(x, x, t);
        Assert.Equal(Math.Log(s.PosteriorVariance[1]), q.LogVariance[0].item<float>(), 1e-5);
        Assert.Equal(s.PosteriorVariance[999], q.Variance[2].item<float>(), 1e-8);
    }

    [Fact]
    public void Clipping_bounds_the_predicted_start()
    {
        using var d = Make();
        using var scope = NewDisposeScope();
        var xt = full([1, 1, 2, 2], 3f);
        var t = tensor(new long[] { 10 });
        var eps = zeros([1, 1, 2, 2]);
        Assert.True(d.PMeanVariance(eps, xt, t, clipDenoised: true).PredictedStart.le(1).all().item<bool>());
        Assert.True(d.PMeanVariance(eps, xt, t, clipDenoised: false).PredictedStart.gt(1).all().item<bool>());
    }

    [Fact]
    public void Loss_simple_is_the_mean_squared_noise_error_of_eq_14()
    {
        using var d = Make();
        using var scope = NewDisposeScope();
        using var g = new Generator(4);
        var x0 = rand([2, 1, 3, 3], generator: g);
        var eps = randn([2, 1, 3, 3], generator: g);
        var t = tensor(new long[] { 5, 700 });
        // A model that always answers 0.5: the loss is mean((ε − 0.5)²) per example.
        var loss = d.LossSimple((x, _) => full_like(x, 0.5f), x0, t, eps);
        var expected = (eps - 0.5f).square().flatten(1).mean([1]);
        Assert.True(loss.allclose(expected, rtol: 0, atol: Tolerances.Float32));
        var oracle = d.LossSimple((_, _) => eps.alias(), x0, t, eps);
        Assert.Equal(0f, oracle.sum().item<float>());
    }

    [Fact]
    public void Mismatched_shapes_are_rejected()
    {
        using var d = Make();
        using var scope = NewDisposeScope();
        var t = tensor(new long[] { 1 });
        Assert.Throws<ArgumentException>(() => d.QSample(zeros([1, 1, 2, 2]), t, zeros([1, 1, 3, 3])));
        Assert.Throws<ArgumentException>(() => d.PMeanVariance(zeros([1, 1, 2, 2]), zeros([1, 2, 2, 2]), t));
    }
}
