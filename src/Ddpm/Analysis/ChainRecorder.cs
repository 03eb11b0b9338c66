using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Analysis;

/// <summary>
/// Coarse-to-fine generation (Ho et al. 2020, §4.3 and Fig. 6): records a sampling run's chain from its
/// <see cref="PredictedStartEvent"/>s. It keeps x̂_0 at <see cref="StripSteps"/> (evenly spaced over the chain, the last
/// frame being the returned sample itself) and x_t and x̂_0 at <see cref="AnimationSteps"/>, for the first
/// <see cref="MaxImages"/> images. Pass <see cref="Record"/> as the pipeline's callback; the recorder owns the tensors it keeps.
/// </summary>
public sealed class ChainRecorder : IDisposable
{
    /// <summary>Frames of an animation by default: as many as the GIF written by earlier versions of <c>ddpm sample --progressive</c>.</summary>
    public const int DefaultAnimationFrames = 50;

    private readonly int steps;
    private readonly Dictionary<int, List<Part>> stripFrames = [];
    private readonly Dictionary<int, List<Part>> predictedStartFrames = [];
    private readonly Dictionary<int, List<Part>> sampleFrames = [];
    private readonly HashSet<int> stripSteps;
    private readonly HashSet<int> animationSteps;

    /// <summary>A recorder for a chain of <paramref name="steps"/> sampler steps.</summary>
    /// <param name="steps">The number of sampler steps (model calls) of the run.</param>
    /// <param name="stripFrames">Frames per strip, at most <paramref name="steps"/> (more are reduced to it).</param>
    /// <param name="animationFrames">About how many frames the animations get (every ⌊steps / frames⌋-th step and the last).</param>
    /// <param name="maxImages">Images recorded, the first of the run; null for all.</param>
    public ChainRecorder(int steps, int stripFrames, int animationFrames = DefaultAnimationFrames, int? maxImages = null)
    {
        if (steps < 1) throw new ArgumentException($"A chain has at least one step (got {steps}).", nameof(steps));
        if (stripFrames < 1) throw new ArgumentException($"A strip has at least one frame (got {stripFrames}).", nameof(stripFrames));
        if (animationFrames < 1) throw new ArgumentException($"An animation has at least one frame (got {animationFrames}).", nameof(animationFrames));
        if (maxImages is < 1) throw new ArgumentException($"At least one image must be recorded (got {maxImages}).", nameof(maxImages));
        this.steps = steps;
        MaxImages = maxImages;
        StripSteps = EvenlySpaced(steps, Math.Min(stripFrames, steps));
        var every = Math.Max(1, steps / animationFrames);
        AnimationSteps = [.. Enumerable.Range(0, steps).Where(s => s % every == 0 || s == steps - 1)];
        stripSteps = [.. StripSteps];
        animationSteps = [.. AnimationSteps];
    }

    /// <summary>The 0-based sampler steps whose x̂_0 make a strip, ascending: the first step, the last, and evenly spaced ones between.</summary>
    public IReadOnlyList<int> StripSteps { get; }

    /// <summary>The 0-based sampler steps recorded for the animations, ascending, ending with the last.</summary>
    public IReadOnlyList<int> AnimationSteps { get; }

    /// <summary>The number of images recorded at most; null for all.</summary>
    public int? MaxImages { get; }

    /// <summary>
    /// <paramref name="count"/> 0-based positions in 0..<paramref name="length"/>−1 spread evenly from the first to the last
    /// (rounded to the nearest; distinct while count ≤ length). One position is the last.
    /// </summary>
    public static int[] EvenlySpaced(int length, int count)
    {
        if (length < 1 || count < 1 || count > length)
            throw new ArgumentException($"Cannot pick {count} of {length} positions.", nameof(count));
        if (count == 1) return [length - 1];
        return [.. Enumerable.Range(0, count).Select(k => (int)Math.Round((double)k * (length - 1) / (count - 1), MidpointRounding.AwayFromZero))];
    }

    /// <summary>Keeps what the event's step contributes. Batches may come in any order; each event's tensors are copied.</summary>
    public void Record(PredictedStartEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var batch = (int)e.PredictedStart.shape[0];
        var take = MaxImages is { } max ? Math.Min(batch, max - e.FirstImage) : batch;
        if (take <= 0) return;
        if (stripSteps.Contains(e.Step))
            Keep(stripFrames, e.Step, e.FirstImage, e.Step == steps - 1 ? e.Sample : e.PredictedStart, take);
        if (animationSteps.Contains(e.Step))
        {
            Keep(predictedStartFrames, e.Step, e.FirstImage, e.PredictedStart, take);
            Keep(sampleFrames, e.Step, e.FirstImage, e.Sample, take);
        }
    }

    /// <summary>
    /// The strips, [N, K, C, H, W] in [−1, 1]: image n's x̂_0 at each of the K <see cref="StripSteps"/>, from the noisy end
    /// to the final image; frame K − 1 is the sample the run returned.
    /// </summary>
    public Tensor Strips()
    {
        using var scope = NewDisposeScope();
        var frames = StripSteps.Select(s => Gather(stripFrames, s)).ToArray();
        return stack(frames, 1).MoveToOuterDisposeScope();
    }

    /// <summary>x̂_0 at each of the <see cref="AnimationSteps"/>, one [N, C, H, W] tensor per frame; the caller disposes them.</summary>
    public IReadOnlyList<Tensor> PredictedStartFrames() => [.. AnimationSteps.Select(s => Gather(predictedStartFrames, s))];

    /// <summary>x_{t−1} after each of the <see cref="AnimationSteps"/>, one [N, C, H, W] tensor per frame; the caller disposes them.</summary>
    public IReadOnlyList<Tensor> SampleFrames() => [.. AnimationSteps.Select(s => Gather(sampleFrames, s))];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var list in stripFrames.Values.Concat(predictedStartFrames.Values).Concat(sampleFrames.Values))
            foreach (var part in list) part.Images.Dispose();
        stripFrames.Clear();
        predictedStartFrames.Clear();
        sampleFrames.Clear();
    }

    private static void Keep(Dictionary<int, List<Part>> frames, int step, int firstImage, Tensor images, int take)
    {
        if (!frames.TryGetValue(step, out var list)) frames[step] = list = [];
        list.Add(new Part(firstImage, images.narrow(0, 0, take).detach().cpu().clone().DetachFromDisposeScope()));
    }

    /// <summary>The kept parts of one step, in image order.</summary>
    private static Tensor Gather(Dictionary<int, List<Part>> frames, int step)
    {
        if (!frames.TryGetValue(step, out var list) || list.Count == 0)
            throw new InvalidOperationException($"Step {step} was not recorded; was the recorder given every step of the run?");
        var ordered = list.OrderBy(p => p.First).Select(p => p.Images).ToList();
        return ordered.Count == 1 ? ordered[0].clone() : cat(ordered, 0);
    }

    /// <summary>The images of one batch kept at one step, and the index of its first image.</summary>
    private sealed record Part(int First, Tensor Images);
}
