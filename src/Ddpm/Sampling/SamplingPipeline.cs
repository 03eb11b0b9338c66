using Ddpm.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>What to generate: <paramref name="Count"/> images of shape [C, H, W], seeded per image, in batches.</summary>
public sealed record SampleRequest(int Count, int Channels, int Height, int Width, long Seed = 0, int BatchSize = 64)
{
    /// <summary>Index of the first image, so a long run can be split across calls and still give the same images.</summary>
    public long FirstIndex { get; init; }

    /// <summary>
    /// When set to S, the images share one trajectory (Ho et al. 2020, Fig. 7): x_T and the noise of every step at a
    /// 0-based timestep ≥ S come from one generator common to all images, so they agree down to the input of the first
    /// step below S; that step and every later one draw each image's own noise. S = T shares x_T only; S = 0 shares all.
    /// Null: every image has its own trajectory from the start.
    /// </summary>
    public int? ShareFrom { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public SampleRequest Validate()
    {
        if (Count < 1) throw new ArgumentException($"count must be at least 1 (got {Count}).");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1 (got {BatchSize}).");
        if (Channels < 1 || Height < 1 || Width < 1) throw new ArgumentException("the image shape must be positive.");
        if (ShareFrom is < 0) throw new ArgumentException($"the timestep to share the trajectory down to must not be negative (got {ShareFrom}).");
        return this;
    }
}

/// <summary>Progress of a sampling run, reported after every step.</summary>
public sealed record SamplingProgress(int Batch, int Batches, int Step, int Steps, int ImagesDone, int Images)
{
    /// <summary>Fraction of all model evaluations done, 0..1.</summary>
    public double Fraction => ((double)Batch * Steps + Step) / ((double)Batches * Steps);
}

/// <summary>The x̂_0 of one step, handed to a callback for progressive generation (Ho et al. 2020, §4.3).</summary>
public sealed record PredictedStartEvent(int FirstImage, int Step, int Timestep, Tensor PredictedStart, Tensor Sample);

/// <summary>
/// Runs a sampler's loop from pure noise: x_T ~ N(0, I), then one model call and one <see cref="ISampler.Step"/> per timestep.
/// Every image draws its noise from its own generator (<see cref="SampleSeeds"/>), so results do not depend on the batch size.
/// The model is called under inference mode; it should be in eval mode.
/// </summary>
public sealed class SamplingPipeline
{
    /// <summary>The image index whose seed (<see cref="SampleSeeds.For"/>) drives a shared trajectory; no image has it.</summary>
    private const long SharedTrajectoryIndex = -1;

    private readonly Func<Tensor, Tensor, Tensor> model;
    private readonly ISampler sampler;

    /// <summary>
    /// A pipeline for <paramref name="model"/>(x_t, t) → output and a sampler, creating its tensors on
    /// <paramref name="device"/> (the model's; the CPU when null). Noise is drawn on the CPU from each image's
    /// generator and moved there, so an image is the same on every device up to the device's arithmetic.
    /// </summary>
    public SamplingPipeline(Func<Tensor, Tensor, Tensor> model, ISampler sampler, Device? device = null)
    {
        this.model = model;
        this.sampler = sampler;
        Device = device ?? CPU;
    }

    /// <summary>The device the pipeline's tensors are created on.</summary>
    public Device Device { get; }

    /// <summary>Generates the requested images as a float32 tensor [Count, C, H, W] in (about) [−1, 1].</summary>
    public Tensor Generate(SampleRequest request, IProgress<SamplingProgress>? progress = null, Action<PredictedStartEvent>? onPredictedStart = null)
    {
        request.Validate();
        var batches = (request.Count + request.BatchSize - 1) / request.BatchSize;
        var results = new List<Tensor>(batches);
        try
        {
            for (var b = 0; b < batches; b++)
            {
                var first = b * request.BatchSize;
                var size = Math.Min(request.BatchSize, request.Count - first);
                results.Add(GenerateBatch(request, first, size, b, batches, progress, onPredictedStart));
            }
            return results.Count == 1 ? results[0] : cat(results, 0);
        }
        finally
        {
            if (results.Count > 1) foreach (var r in results) r.Dispose();
        }
    }

    private Tensor GenerateBatch(SampleRequest request, int first, int size, int batch, int batches,
        IProgress<SamplingProgress>? progress, Action<PredictedStartEvent>? onPredictedStart)
    {
        CpuTuning.BeginStep();
        var generators = new Generator[size];
        for (var i = 0; i < size; i++) generators[i] = new Generator((ulong)SampleSeeds.For(request.Seed, request.FirstIndex + first + i));
        // Every batch seeds the shared generator alike, so the shared trajectory does not depend on the batch size.
        using var shared = request.ShareFrom is null ? null : new Generator((ulong)SampleSeeds.For(request.Seed, SharedTrajectoryIndex));
        try
        {
            using var inference = inference_mode();
            long[] one = [1, request.Channels, request.Height, request.Width];
            Tensor Noise(bool common)
            {
                using var scope = NewDisposeScope();
                var noise = common
                    ? randn(one, generator: shared).expand(size, -1, -1, -1).contiguous()
                    : cat(generators.Select(g => randn(one, generator: g)).ToList(), 0);
                return (Device.type == DeviceType.CPU ? noise : noise.to(Device)).MoveToOuterDisposeScope();
            }

            var x = Noise(shared is not null);
            var steps = sampler.Timesteps.Count;
            for (var s = 0; s < steps; s++)
            {
                var timestep = sampler.Timesteps[s];
                using (var scope = NewDisposeScope())
                {
                    var t = full([size], timestep, dtype: ScalarType.Int64, device: Device);
                    var output = model(x, t);
                    var noise = sampler.AddsNoise(timestep) ? Noise(shared is not null && timestep >= request.ShareFrom) : null;
                    var result = sampler.Step(output, timestep, x, noise: noise);
                    onPredictedStart?.Invoke(new PredictedStartEvent(first, s, timestep, result.PredictedStart, result.Previous));
                    x.Dispose();
                    x = result.Previous.MoveToOuterDisposeScope();
                }
                CpuTuning.EndStep();
                progress?.Report(new SamplingProgress(batch, batches, s + 1, steps, first + (s + 1 == steps ? size : 0), request.Count));
            }
            return x;
        }
        finally
        {
            foreach (var g in generators) g.Dispose();
        }
    }
}
