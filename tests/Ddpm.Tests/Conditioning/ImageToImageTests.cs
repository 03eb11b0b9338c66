using Ddpm.Conditioning;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Conditioning;

/// <summary>Inpainting (RePaint and replacement), SDEdit and the super-resolution conditioning.</summary>
public class ImageToImageTests
{
    private static readonly DiffusionConfig Chain = TinyRuns.Config().Diffusion;

    /// <summary>An oracle that knows x_0: ε = (x_t − √ᾱ_t x_0)/√(1 − ᾱ_t).</summary>
    private static ConditionalModel Oracle(GaussianDiffusion d, Tensor x0) => (xt, t, _) => d.PredictNoiseFromStart(xt, t, x0.expand(xt.shape));

    private static Tensor Images(long seed, int count = 3)
    {
        using var g = new Generator((ulong)seed);
        return rand([count, 1, 8, 8], generator: g) * 1.8 - 0.9;
    }

    private static Tensor CentreMask()
    {
        var mask = zeros(1, 1, 8, 8);
        mask[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(2, 6), TensorIndex.Slice(2, 6)] = tensor(1f);
        return mask;
    }

    [Fact]
    public void The_RePaint_walk_is_diffusers_schedule()
    {
        // diffusers' RePaintScheduler(num_train_timesteps=1000).set_timesteps(5, jump_length=2, jump_n_sample=2).timesteps
        // divided by its stride of 200, as diffusers printed it.
        Assert.Equal([4, 3, 2, 3, 4, 3, 2, 1, 0, 1, 2, 1, 0], RePaintSchedule.Walk(5, 2, 2));
        Assert.Equal([3, 2, 1, 0], RePaintSchedule.Walk(4, 10, 1));
        // r passes over every stretch of j steps below K − j: K + (r − 1)·j·⌈(K − j)/j⌉ model calls plus as many jumps back.
        // Nine jump points below 90, each jumped back from r − 1 = 9 times by j = 10 steps and walked down again (diffusers'
        // set_timesteps(100, 10, 10) has these 1720 entries too).
        var walk = RePaintSchedule.Walk(100, 10, 10);
        Assert.Equal(100 + 2 * 9 * 9 * 10, walk.Count);
        Assert.Equal(100 + 9 * 9 * 10, RePaintSchedule.ModelCalls(walk, 100));
        Assert.Equal(0, walk[^1]);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(3, null)]
    [InlineData(3, 20)]
    public void Inpainting_keeps_the_known_pixels_exactly(int resample, int? steps)
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(Chain);
        var known = Images(4);
        var mask = CentreMask();
        using var network = TinyRuns.Network(2);
        using var sampler = new DdpmSampler(d, new DdpmSamplerOptions { Steps = steps });
        var pipeline = new SamplingPipeline((x, t, _) => network.call(x, t), sampler, d);
        var result = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 1) { Inpainting = new InpaintingRequest(known, mask) { JumpLength = 5, Resample = resample } });
        var keep = mask.eq(0).expand(3, 1, 8, 8);
        Assert.True(Same.Bytes(result.masked_select(keep), known.masked_select(keep)));
        Assert.False(result.masked_select(keep.logical_not()).allclose(known.masked_select(keep.logical_not())));
    }

    [Fact]
    public void Inpainting_with_an_oracle_completes_the_image_and_counts_the_jumps()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(Chain);
        var x0 = Images(5);
        var known = x0.clone();
        known[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(2, 6), TensorIndex.Slice(2, 6)] = tensor(0f);
        var sampler = new DdimSampler(d, new DdimSamplerOptions { Steps = 20, Eta = 0 });
        var calls = 0;
        ConditionalModel oracle = (xt, t, c) => { calls++; return Oracle(d, x0)(xt, t, c); };
        var pipeline = new SamplingPipeline(oracle, sampler, d);
        var progress = new Reports();
        var result = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 1) { Inpainting = new InpaintingRequest(known, CentreMask()) { JumpLength = 4, Resample = 3 } }, progress);
        Assert.True(result.allclose(x0, rtol: 0, atol: 1e-3), $"max error {(result - x0).abs().max().item<float>()}");
        Assert.Equal(RePaintSchedule.ModelCalls(RePaintSchedule.Walk(20, 4, 3), 20), calls);
        // Progress goes through every entry of the walk, jumps back included, and ends complete.
        Assert.Equal(RePaintSchedule.Walk(20, 4, 3).Count, progress.All.Count);
        Assert.Equal((1.0, 3), (progress.All[^1].Fraction, progress.All[^1].ImagesDone));
    }

    private sealed class Reports : IProgress<SamplingProgress>
    {
        public List<SamplingProgress> All { get; } = [];

        public void Report(SamplingProgress value) => All.Add(value);
    }

    [Fact]
    public void Inpainting_sdedit_and_conditioning_images_leave_no_tensors_behind()
    {
        using var d = new GaussianDiffusion(Chain);
        using var network = new UNet(TinyRuns.Model with { ConditionChannels = 1 }, 3);
        network.eval();
        using var sampler = new DdpmSampler(d, new DdpmSamplerOptions { Steps = 8 });
        var pipeline = new SamplingPipeline((x, t, c) => network.ForwardConditioned(x, t, c.Labels, c.Image), sampler, d);
        using var known = Images(7);
        using var mask = CentreMask();
        using var condition = Images(8);
        SampleRequest[] requests =
        [
            new(3, 1, 8, 8, Seed: 1, BatchSize: 2) { ConditionImage = condition, Inpainting = new InpaintingRequest(known, mask) { JumpLength = 2, Resample = 3 } },
            new(3, 1, 8, 8, Seed: 1, BatchSize: 2) { ConditionImage = condition, Start = known, StartTimestep = 60 },
        ];
        foreach (var request in requests) pipeline.Generate(request).Dispose(); // schedule tensors are made on first use
        var before = LiveTensors.Count;
        foreach (var request in requests) pipeline.Generate(request).Dispose();
        Assert.Equal(before, LiveTensors.Count);
    }

    [Fact]
    public void Inpainting_requests_are_checked()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(Chain);
        using var network = TinyRuns.Network(2);
        var pipeline = new SamplingPipeline((x, t, _) => network.call(x, t), new DdpmSampler(d), d);
        var known = Images(4);
        var wrongMask = Assert.Throws<ArgumentException>(() => pipeline.Generate(new SampleRequest(3, 1, 8, 8) { Inpainting = new InpaintingRequest(known, zeros(1, 1, 7, 8)) }));
        Assert.Contains("mask", wrongMask.Message);
        Assert.Throws<ArgumentException>(() => pipeline.Generate(new SampleRequest(3, 1, 8, 8) { Inpainting = new InpaintingRequest(known, CentreMask()) { JumpLength = 0 } }));
        using var solver = (DpmSolverMultistepSampler)SamplerSettings.DpmSolverPlusPlus(5).Create(d);
        var multistep = new SamplingPipeline((x, t, _) => network.call(x, t), solver, d);
        Assert.Contains("multistep", Assert.Throws<ArgumentException>(() => multistep.Generate(new SampleRequest(3, 1, 8, 8) { Inpainting = new InpaintingRequest(known, CentreMask()) })).Message);
        // Replacement alone (r = 1) goes down the chain once, which a multistep solver can do.
        using var replaced = multistep.Generate(new SampleRequest(3, 1, 8, 8) { Inpainting = new InpaintingRequest(known, CentreMask()) { Resample = 1 } });
        Assert.Equal([3, 1, 8, 8], replaced.shape);
    }

    [Fact]
    public void Sdedit_with_strength_0_returns_the_input_and_with_an_oracle_recovers_it()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(Chain);
        var x0 = Images(6);
        Assert.Equal(-1, SampleRequest.StrengthTimestep(0, 100));
        Assert.Equal(49, SampleRequest.StrengthTimestep(0.5, 100));
        Assert.Equal(99, SampleRequest.StrengthTimestep(1, 100));
        Assert.Throws<ArgumentException>(() => SampleRequest.StrengthTimestep(1.5, 100));
        var calls = 0;
        ConditionalModel oracle = (xt, t, c) => { calls++; return Oracle(d, x0)(xt, t, c); };
        foreach (var settings in new[] { SamplerSettings.Ddpm(), SamplerSettings.Ddim(20), SamplerSettings.SdeDpmSolverPlusPlus(10) })
        {
            var sampler = settings.Create(d);
            try
            {
                var pipeline = new SamplingPipeline(oracle, sampler, d);
                calls = 0;
                var same = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2) { Start = x0, StartTimestep = SampleRequest.StrengthTimestep(0, 100) });
                Assert.True(Same.Bytes(same, x0));
                Assert.Equal(0, calls);
                var recovered = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2) { Start = x0, StartTimestep = SampleRequest.StrengthTimestep(0.5, 100) });
                Assert.True(recovered.allclose(x0, rtol: 0, atol: 1e-3), $"{settings.DisplayName}: max error {(recovered - x0).abs().max().item<float>()}");
                Assert.Equal(sampler.Timesteps.Count(t => t <= 49), calls);
            }
            finally
            {
                (sampler as IDisposable)?.Dispose();
            }
        }
    }

    [Fact]
    public void Super_resolution_reduces_by_block_means_and_feeds_extra_input_channels()
    {
        using var scope = NewDisposeScope();
        var x = arange(16, dtype: ScalarType.Float32).view(1, 1, 4, 4) / 16;
        var low = SuperResolution.Downsample(x, 2);
        // The mean of each 2×2 block: (0 + 1 + 4 + 5)/4 / 16, …
        Assert.True(low.allclose(tensor(new[] { 2.5f, 4.5f, 10.5f, 12.5f }).view(1, 1, 2, 2) / 16, rtol: 0, atol: 1e-6));
        Assert.True(SuperResolution.Upsample(full(1, 1, 7, 7, 0.25f), 28).allclose(full(1, 1, 28, 28, 0.25f), rtol: 0, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => SuperResolution.Downsample(zeros(1, 1, 6, 6), 4));

        var config = TinyRuns.Model with { ConditionChannels = 1 };
        using var network = new UNet(config, 1);
        network.eval();
        Assert.Equal([config.BaseChannels, 2, 3, 3], network.state_dict()["conv_in.weight"].shape);
        var images = rand(2, 1, 8, 8) * 2 - 1;
        var t = tensor(new long[] { 3, 4 });
        using var noGrad = no_grad();
        var condition = SuperResolution.ConditionFor(images, 2);
        Assert.Equal([2, 1, 8, 8], condition.shape);
        Assert.Equal([2, 1, 8, 8], network.ForwardConditioned(images, t, condition: condition).shape);
        Assert.Contains("conditioned on", Assert.Throws<ArgumentException>(() => network.call(images, t)).Message);
    }
}
