using Ddpm.Analysis;
using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Analysis;

/// <summary>Coarse-to-fine generation: the strips of <see cref="ChainRecorder"/> and trajectories shared down to a timestep (Fig. 6 and 7).</summary>
public sealed class CoarseToFineTests : IDisposable
{
    private const int Timesteps = 20;

    private readonly GaussianDiffusion diffusion = new(new DiffusionConfig { Schedule = new() { Timesteps = Timesteps } });

    /// <summary>A fixed, smooth stand-in for a trained model, elementwise so batches do not interact.</summary>
    private static Tensor FakeModel(Tensor x, Tensor t) => (x * 0.3 + (t.to(ScalarType.Float32) / Timesteps).view(-1, 1, 1, 1) * 0.1).tanh();

    private Tensor Generate(SampleRequest request, Action<PredictedStartEvent>? onStep = null, SamplerSettings? settings = null)
    {
        var sampler = (settings ?? SamplerSettings.Ddpm()).Create(diffusion);
        try
        {
            return new SamplingPipeline(FakeModel, sampler).Generate(request, onPredictedStart: onStep);
        }
        finally
        {
            (sampler as IDisposable)?.Dispose();
        }
    }

    [Theory]
    [InlineData(null, 7, 3)] // the full chain, the batch split across two calls
    [InlineData(6, 4, 2)] // DDIM over 6 steps
    [InlineData(6, 6, 5)] // as many frames as steps
    public void A_strip_has_K_frames_of_the_image_size_from_evenly_spaced_steps_and_ends_with_the_returned_sample(int? ddimSteps, int frames, int batchSize)
    {
        using var scope = NewDisposeScope();
        var settings = ddimSteps is { } s ? SamplerSettings.Ddim(s) : SamplerSettings.Ddpm();
        var steps = ddimSteps ?? Timesteps;
        using var recorder = new ChainRecorder(steps, frames, animationFrames: 5);
        var images = Generate(new SampleRequest(5, 2, 6, 4, Seed: 3, BatchSize: batchSize), recorder.Record, settings);

        var strips = recorder.Strips();
        Assert.Equal([5L, frames, 2, 6, 4], strips.shape);
        Assert.Equal(0, recorder.StripSteps[0]);
        Assert.Equal(steps - 1, recorder.StripSteps[^1]);
        Assert.Equal(frames, recorder.StripSteps.Distinct().Count());
        Assert.True(Same.Bytes(images, strips.select(1, frames - 1)));
        // The noisy end differs from the final image, and the animations end on the returned sample too.
        Assert.False(Same.Bytes(images, strips.select(1, 0)));
        var samples = recorder.SampleFrames();
        Assert.Equal(recorder.AnimationSteps.Count, samples.Count);
        Assert.True(Same.Bytes(images, samples[^1]));
        foreach (var f in samples.Concat(recorder.PredictedStartFrames())) f.Dispose();
    }

    [Fact]
    public void More_frames_than_steps_give_one_frame_per_step_and_max_images_limits_the_images()
    {
        using var scope = NewDisposeScope();
        using var recorder = new ChainRecorder(4, 10, maxImages: 3);
        Generate(new SampleRequest(5, 1, 4, 4, BatchSize: 2), recorder.Record, SamplerSettings.Ddim(4));
        Assert.Equal([0, 1, 2, 3], recorder.StripSteps);
        Assert.Equal([3L, 4, 1, 4, 4], recorder.Strips().shape);
        Assert.Equal([0, 3, 6, 9], ChainRecorder.EvenlySpaced(10, 4));
        Assert.Equal([9], ChainRecorder.EvenlySpaced(10, 1));
    }

    [Theory]
    [InlineData(12, 5)]
    [InlineData(12, 2)]
    [InlineData(Timesteps, 5)]
    public void Samples_sharing_down_to_a_timestep_are_identical_before_it_and_differ_after_it(int shareFrom, int batchSize)
    {
        using var scope = NewDisposeScope();
        var states = new Dictionary<int, List<Tensor>>();
        var images = Generate(new SampleRequest(5, 1, 4, 4, Seed: 9, BatchSize: batchSize) { ShareFrom = shareFrom }, e =>
        {
            if (!states.TryGetValue(e.Timestep, out var list)) states[e.Timestep] = list = [];
            list.Add(e.Sample.clone().MoveToOuterDisposeScope());
        });
        for (var t = Timesteps - 1; t >= 0; t--)
        {
            // x_{t−1} after the step at timestep t: shared while the step's noise is (t ≥ S).
            var x = cat(states[t], 0);
            var allSame = Enumerable.Range(1, 4).All(i => Same.Bytes(x[0], x[i]));
            Assert.True(allSame == t >= shareFrom, $"step at t = {t}: identical = {allSame}, shared down to {shareFrom}");
        }
        Assert.False(Same.Bytes(images[0], images[1]));

        // The shared trajectory is the same for every S down to the larger S, and the images are not any image's own.
        var deeper = Generate(new SampleRequest(5, 1, 4, 4, Seed: 9, BatchSize: 5) { ShareFrom = 0 });
        Assert.True(Enumerable.Range(1, 4).All(i => Same.Bytes(deeper[0], deeper[i])));
        var own = Generate(new SampleRequest(5, 1, 4, 4, Seed: 9, BatchSize: 5));
        Assert.False(Same.Bytes(own[0], own[1]));
        Assert.False(Same.Bytes(own[0], deeper[0]));
    }

    [Fact]
    public void A_negative_share_from_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new SampleRequest(1, 1, 4, 4) { ShareFrom = -1 }.Validate());
        Assert.Contains("-1", e.Message);
    }

    public void Dispose() => diffusion.Dispose();
}
