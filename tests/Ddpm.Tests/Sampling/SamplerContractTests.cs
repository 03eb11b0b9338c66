using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>What every sampler must do: the right shape, the same bytes for the same seed, images independent of batch size.</summary>
public abstract class SamplerContractTests : IDisposable
{
    protected SamplerContractTests() => Diffusion = new GaussianDiffusion(new DiffusionConfig { Schedule = new() { Timesteps = 100 } });

    protected GaussianDiffusion Diffusion { get; }

    protected abstract ISampler CreateSampler();

    /// <summary>A fixed, smooth stand-in for a trained model.</summary>
    private static Tensor FakeModel(Tensor x, Tensor t) => (x * 0.3 + (t.to(ScalarType.Float32) / 100.0).view(-1, 1, 1, 1) * 0.1).tanh();

    private Tensor Run(int count, int batchSize, long seed)
    {
        var pipeline = new SamplingPipeline(FakeModel, CreateSampler());
        return pipeline.Generate(new SampleRequest(count, 2, 5, 5, seed, batchSize));
    }

    [Fact]
    public void Returns_the_requested_shape()
    {
        using var scope = NewDisposeScope();
        Assert.Equal([5L, 2, 5, 5], Run(5, 2, 0).shape);
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_differs()
    {
        using var scope = NewDisposeScope();
        var a = Run(3, 3, 42);
        var b = Run(3, 3, 42);
        var c = Run(3, 3, 43);
        Assert.True(Same.Bytes(a, b));
        Assert.False(Same.Bytes(a, c));
    }

    [Fact]
    public void An_image_does_not_depend_on_the_batch_it_was_drawn_in()
    {
        using var scope = NewDisposeScope();
        var whole = Run(5, 5, 7);
        var split = Run(5, 2, 7);
        Assert.True(whole.allclose(split, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void A_noisy_step_needs_a_generator_or_noise()
    {
        using var scope = NewDisposeScope();
        var sampler = CreateSampler();
        var t = sampler.Timesteps[0];
        var x = ones([1, 2, 5, 5]);
        if (sampler.AddsNoise(t)) Assert.Throws<ArgumentException>(() => sampler.Step(x, t, x));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Step(x, 100_000, x, new Generator(0)));
        Assert.Throws<ArgumentException>(() => sampler.Step(ones([1, 1, 5, 5]), t, x, new Generator(0)));
    }

    public void Dispose()
    {
        Diffusion.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class DdpmSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new DdpmSampler(Diffusion);
}

public sealed class RespacedDdpmSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new DdpmSampler(Diffusion, new DdpmSamplerOptions { Steps = 10 });
}

public sealed class DdimSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new DdimSampler(Diffusion, new DdimSamplerOptions { Steps = 10 });
}

public sealed class StochasticDdimSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new DdimSampler(Diffusion, new DdimSamplerOptions { Steps = 10, Eta = 1, Spacing = TimestepSpacing.Trailing });
}

public sealed class DpmSolverPlusPlusSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new DpmSolverMultistepSampler(Diffusion, new DpmSolverOptions { Steps = 10 });
}

public sealed class ThirdOrderDpmSolverSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() =>
        new DpmSolverMultistepSampler(Diffusion, new DpmSolverOptions { Steps = 10, Order = 3, SolverType = DpmSolverType.Heun, Spacing = TimestepSpacing.Trailing });
}

public sealed class UniPcSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() => new UniPcSampler(Diffusion, new UniPcOptions { Steps = 10 });
}

public sealed class ThirdOrderUniPcBh1SamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() =>
        new UniPcSampler(Diffusion, new UniPcOptions { Steps = 10, Order = 3, Variant = UniPcVariant.Bh1, FinalSigmas = FinalSigmas.SigmaMin });
}

public sealed class SdeDpmSolverPlusPlusSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() =>
        new DpmSolverMultistepSampler(Diffusion, new DpmSolverOptions { Steps = 10, Algorithm = DpmSolverAlgorithm.SdeDpmSolverPlusPlus });
}

public sealed class ThirdOrderHeunSdeDpmSolverSamplerContractTests : SamplerContractTests
{
    protected override ISampler CreateSampler() =>
        new DpmSolverMultistepSampler(Diffusion, new DpmSolverOptions
        {
            Steps = 10, Order = 3, SolverType = DpmSolverType.Heun, Algorithm = DpmSolverAlgorithm.SdeDpmSolverPlusPlus, FinalSigmas = FinalSigmas.SigmaMin,
        });
}
