using Ddpm.Conditioning;
using Ddpm.Diffusion;
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

    /// <summary>The class of each image (<see cref="Count"/> of them; −1: the null class), for a class-conditional model. Null: unconditional.</summary>
    public IReadOnlyList<long>? Labels { get; init; }

    /// <summary>
    /// Classifier-free guidance scale s with <see cref="Labels"/> (<see cref="ClassifierFreeGuidance"/>): 0 unconditional,
    /// 1 conditional (the default), &gt; 1 guided; the paper's w is s − 1.
    /// </summary>
    public double GuidanceScale { get; init; } = 1;

    /// <summary>A conditioning image per image [Count, C_cond, H, W] (SR3's upsampled low-resolution input), for a model that takes one.</summary>
    public Tensor? ConditionImage { get; init; }

    /// <summary>
    /// Image-to-image (SDEdit, Meng et al. 2022): the images [Count, C, H, W] in [−1, 1] to start from. They are noised
    /// with q(x_t | x_0) to the first of the sampler's timesteps at or below <see cref="StartTimestep"/>, and the chain
    /// runs from there; with no timestep left they are returned unchanged.
    /// </summary>
    public Tensor? Start { get; init; }

    /// <summary>The highest 0-based timestep the chain of <see cref="Start"/> visits (see <see cref="StrengthTimestep"/>).</summary>
    public int? StartTimestep { get; init; }

    /// <summary>Inpainting (RePaint): the known images, the mask and the resampling (<see cref="InpaintingRequest"/>).</summary>
    public InpaintingRequest? Inpainting { get; init; }

    /// <summary>
    /// SDEdit's strength S in [0, 1] as the highest 0-based timestep of the chain: ⌊S·T⌋ − 1 (the paper's step ⌊S·T⌋;
    /// −1 for S = 0, which leaves the image as it is; T − 1 for S = 1).
    /// </summary>
    public static int StrengthTimestep(double strength, int timesteps)
    {
        if (!(strength >= 0 && strength <= 1)) throw new ArgumentException($"the strength must lie in [0, 1] (got {strength}).");
        return (int)Math.Floor(strength * timesteps) - 1;
    }

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public SampleRequest Validate()
    {
        if (Count < 1) throw new ArgumentException($"count must be at least 1 (got {Count}).");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1 (got {BatchSize}).");
        if (Channels < 1 || Height < 1 || Width < 1) throw new ArgumentException("the image shape must be positive.");
        if (ShareFrom is < 0) throw new ArgumentException($"the timestep to share the trajectory down to must not be negative (got {ShareFrom}).");
        if (Labels is not null && Labels.Count != Count) throw new ArgumentException($"there are {Labels.Count} labels for {Count} images.");
        if (!double.IsFinite(GuidanceScale)) throw new ArgumentException($"the guidance scale must be finite (got {GuidanceScale}).");
        if (ConditionImage is not null && (ConditionImage.dim() != 4 || ConditionImage.shape[0] != Count || ConditionImage.shape[2] != Height || ConditionImage.shape[3] != Width))
            throw new ArgumentException($"the conditioning images must be [{Count}, C, {Height}, {Width}], got [{string.Join(", ", ConditionImage.shape)}].");
        if (Start is not null)
        {
            if (Start.dim() != 4 || Start.shape[0] != Count || Start.shape[1] != Channels || Start.shape[2] != Height || Start.shape[3] != Width)
                throw new ArgumentException($"the start images must be [{Count}, {Channels}, {Height}, {Width}], got [{string.Join(", ", Start.shape)}].");
            if (StartTimestep is null) throw new ArgumentException("start images need a start timestep (see SampleRequest.StrengthTimestep).");
        }
        if (Start is not null || Inpainting is not null)
        {
            if (ShareFrom is not null) throw new ArgumentException("shared trajectories start from noise: they cannot be combined with start images or inpainting.");
        }
        Inpainting?.Validate(Count, Channels, Height, Width);
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
/// Runs a sampler's loop: x_T ~ N(0, I) (or a start image noised to its first timestep), then one model call and one
/// <see cref="ISampler.Step"/> per timestep, with the request's conditioning (labels and guidance, a conditioning image)
/// given to the model and, when inpainting, the known pixels put back after every step and RePaint's jumps back.
/// Every image draws its noise from its own generator (<see cref="SampleSeeds"/>), so results do not depend on the batch
/// size. The model is called under inference mode; it should be in eval mode.
/// </summary>
public sealed class SamplingPipeline
{
    /// <summary>The image index whose seed (<see cref="SampleSeeds.For"/>) drives a shared trajectory; no image has it.</summary>
    private const long SharedTrajectoryIndex = -1;

    private readonly ConditionalModel model;
    private readonly ISampler sampler;
    private readonly GaussianDiffusion? diffusion;

    /// <summary>
    /// A pipeline for <paramref name="model"/>(x_t, t) → output and a sampler, creating its tensors on
    /// <paramref name="device"/> (the model's; the CPU when null). Noise is drawn on the CPU from each image's
    /// generator and moved there, so an image is the same on every device up to the device's arithmetic.
    /// </summary>
    public SamplingPipeline(Func<Tensor, Tensor, Tensor> model, ISampler sampler, Device? device = null)
        : this((x, t, _) => model(x, t), sampler, null, device)
    {
    }

    /// <summary>
    /// A pipeline for a conditional <paramref name="model"/>; <paramref name="diffusion"/> (the model's forward process) is
    /// needed for start images and inpainting, which noise images with q(x_t | x_0).
    /// </summary>
    public SamplingPipeline(ConditionalModel model, ISampler sampler, GaussianDiffusion? diffusion, Device? device = null)
    {
        this.model = model;
        this.sampler = sampler;
        this.diffusion = diffusion;
        Device = device ?? CPU;
    }

    /// <summary>The device the pipeline's tensors are created on.</summary>
    public Device Device { get; }

    /// <summary>Generates the requested images as a float32 tensor [Count, C, H, W] in (about) [−1, 1].</summary>
    public Tensor Generate(SampleRequest request, IProgress<SamplingProgress>? progress = null, Action<PredictedStartEvent>? onPredictedStart = null)
    {
        request.Validate();
        if ((request.Start is not null || request.Inpainting is not null) && diffusion is null)
            throw new ArgumentException("start images and inpainting need the pipeline to know the diffusion process.");
        if (request.Inpainting is { Resample: > 1 } && sampler is MultistepSamplerBase)
            throw new ArgumentException("RePaint's resampling goes back up the chain, which a multistep solver cannot: use ddpm or ddim, or resample 1.");
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

    /// <summary>The sampler's timesteps this request visits: all, or those at or below a start image's timestep.</summary>
    private int[] VisitedTimesteps(SampleRequest request) => request.Start is null
        ? [.. sampler.Timesteps]
        : [.. sampler.Timesteps.Where(t => t <= request.StartTimestep)];

    private Tensor GenerateBatch(SampleRequest request, int first, int size, int batch, int batches,
        IProgress<SamplingProgress>? progress, Action<PredictedStartEvent>? onPredictedStart)
    {
        CpuTuning.BeginStep();
        var generators = new Generator[size];
        for (var i = 0; i < size; i++) generators[i] = new Generator((ulong)SampleSeeds.For(request.Seed, request.FirstIndex + first + i));
        // Every batch seeds the shared generator alike, so the shared trajectory does not depend on the batch size.
        using var shared = request.ShareFrom is null ? null : new Generator((ulong)SampleSeeds.For(request.Seed, SharedTrajectoryIndex));
        // The batch's own tensors are disposed here rather than by a dispose scope around the loop, so that what a
        // callback moves out of a step's scope reaches the caller's scope, as without conditioning.
        var owned = new List<Tensor>();
        T Own<T>(T tensor) where T : Tensor?
        {
            if (tensor is not null) owned.Add(tensor);
            return tensor;
        }
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
            Tensor? Slice(Tensor? all, bool whole = false)
            {
                if (all is null) return null;
                using var scope = NewDisposeScope();
                var part = whole ? all.to(ScalarType.Float32) : all.narrow(0, first, size).to(ScalarType.Float32);
                return Own(OnDevice(part).contiguous().MoveToOuterDisposeScope());
            }

            var conditioning = new ModelConditioning(
                request.Labels is null ? null : Own(tensor(request.Labels.Skip(first).Take(size).ToArray(), device: Device)),
                Slice(request.ConditionImage));
            var known = Slice(request.Inpainting?.Known);
            var mask = request.Inpainting is null ? null : Slice(request.Inpainting.Mask, whole: request.Inpainting.Mask.shape[0] == 1);

            var timesteps = VisitedTimesteps(request);
            Tensor x;
            using (var scope = NewDisposeScope())
            {
                if (request.Start is not null)
                {
                    var start = Slice(request.Start)!;
                    if (timesteps.Length == 0) return start.clone().MoveToOuterDisposeScope();
                    x = Noised(start, timesteps[0], Noise(false));
                }
                else
                {
                    x = Noise(shared is not null);
                }
                if (known is not null && mask is not null) x = Merge(x, known, mask, timesteps[0], Noise);
                x = x.MoveToOuterDisposeScope();
            }

            // Positions counted from the end of the chain, as RePaint's walk: position k is timesteps[K − 1 − k].
            var count = timesteps.Length;
            var walk = request.Inpainting is { } inpainting
                ? RePaintSchedule.Walk(count, inpainting.JumpLength, inpainting.Resample)
                : Enumerable.Range(0, count).Reverse().ToArray();
            // Progress counts the walk's entries: model calls, and RePaint's jumps back.
            var entries = walk.Count;
            var entry = 0;
            var level = count - 1;
            var call = 0;
            foreach (var k in walk)
            {
                using (var scope = NewDisposeScope())
                {
                    Tensor next;
                    if (k == level)
                    {
                        var timestep = timesteps[count - 1 - k];
                        var t = full([size], timestep, dtype: ScalarType.Int64, device: Device);
                        var output = conditioning.Labels is null
                            ? model(x, t, conditioning)
                            : ClassifierFreeGuidance.Apply(model, x, t, conditioning, request.GuidanceScale);
                        var noise = sampler.AddsNoise(timestep) ? Noise(shared is not null && timestep >= request.ShareFrom) : null;
                        var result = sampler.Step(output, timestep, x, noise: noise);
                        onPredictedStart?.Invoke(new PredictedStartEvent(first, call, timestep, result.PredictedStart, result.Previous));
                        next = result.Previous;
                        level = k - 1;
                        if (known is not null && mask is not null) next = Merge(next, known, mask, level < 0 ? -1 : timesteps[count - 1 - level], Noise);
                        call++;
                    }
                    else
                    {
                        // RePaint's jump back: q(x_s | x_t) from level k − 2 to k − 1, for the timesteps s > t of those levels.
                        next = Renoised(x, level < 0 ? -1 : timesteps[count - 1 - level], timesteps[count - k], Noise(false));
                        level = k - 1;
                    }
                    x.Dispose();
                    x = next.MoveToOuterDisposeScope();
                }
                CpuTuning.EndStep();
                entry++;
                progress?.Report(new SamplingProgress(batch, batches, entry, entries, first + (entry == entries ? size : 0), request.Count));
            }
            return x;
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
            foreach (var g in generators) g.Dispose();
        }
    }

    private Tensor OnDevice(Tensor x) => Device.type == DeviceType.CPU ? x : x.to(Device);

    /// <summary>q(x_t | x_0) (<see cref="GaussianDiffusion.QSample"/>); t = −1 is x_0 itself.</summary>
    private Tensor Noised(Tensor x0, int timestep, Tensor noise)
    {
        if (timestep < 0) return x0.alias();
        using var t = full([x0.shape[0]], timestep, dtype: ScalarType.Int64, device: x0.device);
        return diffusion!.QSample(x0, t, noise);
    }

    /// <summary>q(x_to | x_from) for to &gt; from (−1: the data): √(ᾱ_to/ᾱ_from)·x + √(1 − ᾱ_to/ᾱ_from)·ε.</summary>
    private Tensor Renoised(Tensor x, int from, int to, Tensor noise)
    {
        var ab = diffusion!.Schedule.AlphasCumprod;
        var ratio = ab[to] / (from < 0 ? 1.0 : ab[from]);
        return x * Math.Sqrt(ratio) + noise * Math.Sqrt(1 - ratio);
    }

    /// <summary>The known pixels noised to <paramref name="timestep"/> where the mask is 0, the sample where it is 1.</summary>
    private Tensor Merge(Tensor sample, Tensor known, Tensor mask, int timestep, Func<bool, Tensor> noise)
    {
        using var scope = NewDisposeScope();
        var level = timestep < 0 ? known : Noised(known, timestep, noise(false));
        return (sample * mask + level * (1 - mask)).MoveToOuterDisposeScope();
    }
}
