using Ddpm.Diffusion;
using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Analysis;

/// <summary>
/// Interpolation in the latent space of the diffusion (Ho et al. 2020, §4.3 and Fig. 8): both source images are diffused
/// to x_t with the same noise (Eq. 4), the two x_t are mixed linearly, x̄_t = (1 − λ) x_t + λ x′_t, and every mixture is
/// decoded by the reverse process from t, ancestral sampling (Algorithm 2) over timesteps t … 0. As in the paper, the
/// noise is fixed across λ: every mixture is decoded with the same reverse-process noise, so the row changes only with λ.
/// </summary>
/// <param name="diffusion">The process the model was trained for.</param>
/// <param name="model">The network: (x_t, 0-based t) → output, float32.</param>
/// <param name="device">The network's device, where every tensor is created (the CPU when null).</param>
public sealed class Interpolation(GaussianDiffusion diffusion, Func<Tensor, Tensor, Tensor> model, Device? device = null)
{
    /// <summary>Stream of the forward noise that diffuses the sources, within the run's seed.</summary>
    private const long ForwardStream = 0;

    /// <summary>Stream of the reverse-process noise that decodes the mixtures, within the run's seed.</summary>
    private const long ReverseStream = 1;

    private readonly Device device = device ?? CPU;

    /// <summary>
    /// x_t ~ q(x_t | x_0) (Eq. 4) at the 0-based <paramref name="timestep"/>, with noise drawn from <paramref name="seed"/>
    /// alone, so two images diffused with the same seed share their noise.
    /// </summary>
    /// <param name="x0">Images [B, C, H, W] in [−1, 1], on the model's device.</param>
    /// <param name="timestep">The diffusion depth, 0..T−1.</param>
    /// <param name="seed">Seed of the noise; the same for every image of the batch.</param>
    public Tensor Diffuse(Tensor x0, int timestep, long seed)
    {
        ArgumentNullException.ThrowIfNull(x0);
        CheckTimestep(timestep);
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)SampleSeeds.For(seed, ForwardStream));
        var noise = randn([1, .. x0.shape[1..]], generator: generator).to(device).expand_as(x0);
        var t = full([x0.shape[0]], timestep, dtype: ScalarType.Int64, device: device);
        return diffusion.QSample(x0, t, noise).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Decodes x_t [B, C, H, W] at the 0-based <paramref name="timestep"/> to x_0 with the reverse process (DDPM steps at
    /// t, t − 1, …, 0), every image of the batch getting the same noise at each step, drawn from <paramref name="seed"/>.
    /// </summary>
    public Tensor Decode(Tensor xt, int timestep, long seed, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(xt);
        CheckTimestep(timestep);
        using var sampler = new DdpmSampler(diffusion);
        using var generator = new Generator((ulong)SampleSeeds.For(seed, ReverseStream));
        using var inference = inference_mode();
        long[] one = [1, .. xt.shape[1..]];
        var x = xt.alias();
        for (var t = timestep; t >= 0; t--)
        {
            using (var scope = NewDisposeScope())
            {
                var timesteps = full([xt.shape[0]], t, dtype: ScalarType.Int64, device: device);
                var output = model(x, timesteps);
                var noise = sampler.AddsNoise(t) ? randn(one, generator: generator).to(device).expand_as(x) : null;
                var result = sampler.Step(output, t, x, noise: noise);
                x.Dispose();
                x = result.Previous.MoveToOuterDisposeScope();
            }
            progress?.Report(timestep - t + 1);
        }
        return x;
    }

    /// <summary>
    /// The interpolation of <paramref name="a"/> and <paramref name="b"/> (each [C, H, W] or [1, C, H, W] in [−1, 1]) at
    /// depth <paramref name="timestep"/>: <paramref name="count"/> decoded images [count, C, H, W] for λ = 0, 1/(count − 1),
    /// …, 1. The λ = 0 end is <see cref="Decode"/>(<see cref="Diffuse"/>(a)) with the same seed, the λ = 1 end the same for b.
    /// </summary>
    /// <param name="a">The λ = 0 source.</param>
    /// <param name="b">The λ = 1 source.</param>
    /// <param name="timestep">The diffusion depth t, 0-based.</param>
    /// <param name="count">Images in the row, both ends included (at least 2).</param>
    /// <param name="seed">Seed of the forward noise and of the reverse-process noise.</param>
    /// <param name="progress">Reverse steps done, 1..t + 1.</param>
    public Tensor Interpolate(Tensor a, Tensor b, int timestep, int count, long seed, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (count < 2) throw new ArgumentException($"An interpolation has at least its two ends (got {count} images).", nameof(count));
        using var scope = NewDisposeScope();
        var first = AsBatch(a);
        var second = AsBatch(b);
        if (!first.shape.SequenceEqual(second.shape))
            throw new ArgumentException($"The two images differ in shape ([{string.Join(", ", first.shape)}] and [{string.Join(", ", second.shape)}]).");
        var ends = Diffuse(cat([first, second], 0), timestep, seed);
        var lambdas = linspace(0.0, 1.0, count, dtype: ScalarType.Float32, device: device).view(count, 1, 1, 1);
        var mixed = (1 - lambdas) * ends[0] + lambdas * ends[1];
        return Decode(mixed, timestep, seed, progress).MoveToOuterDisposeScope();
    }

    private Tensor AsBatch(Tensor image)
    {
        var batch = image.dim() == 3 ? image.unsqueeze(0) : image;
        if (batch.dim() != 4 || batch.shape[0] != 1)
            throw new ArgumentException($"An image is [C, H, W] or [1, C, H, W] (got [{string.Join(", ", image.shape)}]).");
        return batch.to(ScalarType.Float32).to(device);
    }

    private void CheckTimestep(int timestep)
    {
        if (timestep < 0 || timestep >= diffusion.Timesteps)
            throw new ArgumentException($"The diffusion depth t must lie in 0..{diffusion.Timesteps - 1} (0-based; got {timestep}).");
    }
}
