using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>With an oracle that knows x_0 (ε = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t)), samplers must reconstruct x_0.</summary>
public class OracleSamplingTests
{
    private static Func<Tensor, Tensor, Tensor> Oracle(GaussianDiffusion d, Tensor x0) =>
        (xt, t) => d.PredictNoiseFromStart(xt, t, x0.expand(xt.shape));

    [Theory]
    [InlineData(50, TimestepSpacing.Leading)]
    [InlineData(10, TimestepSpacing.Trailing)]
    [InlineData(7, TimestepSpacing.Linspace)]
    public void Ddim_with_eta_0_returns_x0(int steps, TimestepSpacing spacing)
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig());
        using var g = new Generator(11);
        var x0 = rand([3, 1, 6, 6], generator: g) * 1.8 - 0.9;
        var sampler = new DdimSampler(d, new DdimSamplerOptions { Steps = steps, Spacing = spacing });
        var pipeline = new SamplingPipeline(Oracle(d, x0), sampler);
        var result = pipeline.Generate(new SampleRequest(3, 1, 6, 6, Seed: 5));
        Assert.True(result.allclose(x0, rtol: 0, atol: Tolerances.Oracle), $"max error {(result - x0).abs().max().item<float>()}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(25)]
    public void Every_ddpm_step_predicts_x0(int? steps)
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig());
        using var g = new Generator(12);
        var x0 = rand([2, 1, 4, 4], generator: g) * 1.8 - 0.9;
        using var sampler = new DdpmSampler(d, new DdpmSamplerOptions { Steps = steps });
        var pipeline = new SamplingPipeline(Oracle(d, x0), sampler);
        var checkedSteps = 0;
        var worst = 0f;
        pipeline.Generate(new SampleRequest(2, 1, 4, 4, Seed: 1), onPredictedStart: e =>
        {
            worst = Math.Max(worst, (e.PredictedStart - x0).abs().max().item<float>());
            checkedSteps++;
        });
        Assert.Equal(steps ?? 1000, checkedSteps);
        // x̂0 = (x_t − √(1 − ᾱ) ε)/√ᾱ divides by √ᾱ_T ≈ 0.0064 at the first step: 1e-4 holds up to float32 rounding there.
        Assert.True(worst < Tolerances.Oracle * 5, $"worst x̂0 error {worst}");
    }

    [Fact]
    public void Ddpm_with_the_oracle_ends_at_x0()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig());
        using var g = new Generator(13);
        var x0 = rand([2, 1, 4, 4], generator: g) * 1.8 - 0.9;
        using var sampler = new DdpmSampler(d);
        var result = new SamplingPipeline(Oracle(d, x0), sampler).Generate(new SampleRequest(2, 1, 4, 4, Seed: 3));
        Assert.True(result.allclose(x0, rtol: 0, atol: Tolerances.Oracle));
    }
}
