using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Schedules;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>
/// diffusers' own scheduler test loops (tests/schedulers/test_scheduler_ddpm.py and test_scheduler_ddim.py):
/// the same deterministic dummy sample, dummy model and seed, and their published sums and means.
/// </summary>
public class DiffusersSchedulerLoopTests
{
    /// <summary>dummy_sample_deter: arange(4·3·8·8)/n, reshaped (3, 8, 8, 4) and permuted to (4, 3, 8, 8).</summary>
    internal static Tensor DummySample()
    {
        const int n = 4 * 3 * 8 * 8;
        return (arange(n, dtype: ScalarType.Float32) / n).reshape(3, 8, 8, 4).permute(3, 0, 1, 2).contiguous();
    }

    /// <summary>dummy_model: sample · t/(t + 1).</summary>
    internal static Tensor DummyModel(Tensor sample, int t) => sample * t / (t + 1.0);

    internal static GaussianDiffusion Diffusion(ModelMeanType mean, double betaStart = 1e-4) =>
        new(new DiffusionConfig
        {
            Schedule = new ScheduleConfig { BetaStart = betaStart },
            MeanType = mean,
            VarianceType = ModelVarianceType.FixedSmall,
        });

    [Theory]
    [InlineData(ModelMeanType.Epsilon, 258.9606, 0.3372)]
    [InlineData(ModelMeanType.Velocity, 202.0296, 0.2631)]
    public void Ddpm_full_loop_matches_diffusers(ModelMeanType mean, double sum, double meanAbs)
    {
        using var scope = NewDisposeScope();
        using var d = Diffusion(mean);
        using var sampler = new DdpmSampler(d, new DdpmSamplerOptions { VarianceType = ModelVarianceType.FixedSmall });
        // A fresh generator seeded 0 is torch.manual_seed(0)'s stream, without sharing the global generator with parallel tests.
        using var generator = new TorchSharp.torch.Generator(0);
        var sample = DummySample();
        foreach (var t in sampler.Timesteps)
        {
            sample = sampler.Step(DummyModel(sample, t), t, sample, generator).Previous;
        }
        Assert.Equal(sum, sample.abs().sum().item<float>(), Tolerances.DiffusersSum);
        Assert.Equal(meanAbs, sample.abs().mean().item<float>(), Tolerances.DiffusersMean);
    }

    [Theory]
    [InlineData(ModelMeanType.Epsilon, 1e-4, true, 172.0067, 0.223967)]
    [InlineData(ModelMeanType.Velocity, 1e-4, true, 52.5302, 0.0684)]
    [InlineData(ModelMeanType.Epsilon, 0.01, true, 149.8295, 0.1951)]
    [InlineData(ModelMeanType.Epsilon, 0.01, false, 149.0784, 0.1941)]
    public void Ddim_full_loop_matches_diffusers(ModelMeanType mean, double betaStart, bool alphaToOne, double sum, double meanAbs)
    {
        using var scope = NewDisposeScope();
        using var d = Diffusion(mean, betaStart);
        var sampler = new DdimSampler(d, new DdimSamplerOptions { Steps = 10, Eta = 0, Spacing = TimestepSpacing.Leading, FinalAlphaCumprodIsOne = alphaToOne });
        Assert.Equal([900, 800, 700, 600, 500, 400, 300, 200, 100, 0], sampler.Timesteps);
        var sample = DummySample();
        foreach (var t in sampler.Timesteps)
        {
            sample = sampler.Step(DummyModel(sample, t), t, sample).Previous;
        }
        Assert.Equal(sum, sample.abs().sum().item<float>(), Tolerances.DiffusersSum);
        Assert.Equal(meanAbs, sample.abs().mean().item<float>(), Tolerances.DiffusersMean);
    }

    [Fact]
    public void Spacings_match_diffusers_timesteps()
    {
        Assert.Equal([801, 601, 401, 201, 1], SamplingTimesteps.Create(TimestepSpacing.Leading, 1000, 5, offset: 1));
        Assert.Equal([999, 899, 799, 699, 599, 499, 399, 299, 199, 99], SamplingTimesteps.Create(TimestepSpacing.Trailing, 1000, 10));
        Assert.Equal([999, 749, 500, 250, 0], SamplingTimesteps.Create(TimestepSpacing.Linspace, 1000, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => SamplingTimesteps.Create(TimestepSpacing.Leading, 10, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => SamplingTimesteps.Create(TimestepSpacing.Leading, 10, 0));
    }
}
