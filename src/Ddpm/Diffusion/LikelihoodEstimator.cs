using Ddpm.Data;
using Ddpm.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>
/// Estimates the negative log-likelihood bound of Eq. (5) in bits/dim by evaluating every one of its T + 1 terms for each
/// image, as the official <c>calc_bpd_loop</c>: for t = T−1 down to 0 draw x_t ~ q(x_t | x_0), run the model, and take
/// the term of <see cref="VariationalBound"/>; add L_T. Images are batched, but image i's term t draws its noise from a
/// generator seeded with <see cref="NoiseSeed"/>(seed, i, t) alone, so no image depends on the batch it was in.
/// </summary>
/// <param name="diffusion">The process the model was trained for (its mean and variance types are honoured).</param>
/// <param name="model">The network: (x_t, 0-based t) → output, float32.</param>
/// <param name="device">The network's device, where the data set's images are moved (the CPU when null).</param>
public sealed class LikelihoodEstimator(GaussianDiffusion diffusion, Func<Tensor, Tensor, Tensor> model, Device? device = null)
{
    private readonly VariationalBound bound = new(diffusion);

    /// <summary>The seed of the noise of term <paramref name="t"/> of image <paramref name="image"/> in a run seeded <paramref name="seed"/>.</summary>
    public static long NoiseSeed(long seed, long image, int t) => SampleSeeds.For(SampleSeeds.For(seed, image) ^ NoiseStream, t);

    /// <summary>Keeps these draws apart from sampling's (which seeds image i with <c>SampleSeeds.For(seed, i)</c>).</summary>
    private const long NoiseStream = 0x4E4C4C; // "NLL"

    /// <summary>
    /// The bound for the first <see cref="LikelihoodSettings.Count"/> images of <paramref name="data"/>. Finished batches
    /// found in <paramref name="store"/> are taken from it, new ones are saved there, so a rerun continues an interrupted one.
    /// </summary>
    /// <remarks><paramref name="onTermEvaluated"/> sees only the batches evaluated now, not those taken from the store.</remarks>
    /// <exception cref="ArgumentException">Settings invalid, more images asked for than the data set has, or images of another shape than the model's.</exception>
    public LikelihoodResult Evaluate(IDataset data, LikelihoodSettings settings, IProgress<LikelihoodProgress>? progress = null,
        IBoundBatchStore? store = null, Action<TermEvaluatedEvent>? onTermEvaluated = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        settings.Validate();
        if (settings.Count > data.Count)
            throw new ArgumentException($"{data.Name} has {data.Count} images; cannot evaluate {settings.Count}.");
        var batches = (settings.Count + settings.BatchSize - 1) / settings.BatchSize;
        var terms = diffusion.Timesteps;
        var images = new List<ImageBound>(settings.Count);
        var termSums = new double[terms];
        var noiseSums = new double[terms];
        var startSums = new double[terms];
        for (var b = 0; b < batches; b++)
        {
            var first = b * settings.BatchSize;
            var size = Math.Min(settings.BatchSize, settings.Count - first);
            var done = first;
            var batch = store?.TryLoad(b);
            if (batch is null || batch.FirstImage != first || batch.Images.Count != size || batch.TermSums.Length != terms)
            {
                using var x0 = LoadImages(data, first, size, device);
                batch = EvaluateBatch(x0, first, settings.Seed, settings.ClipDenoised,
                    k => progress?.Report(new LikelihoodProgress(b, batches, k, terms, done, size, settings.Count)), onTermEvaluated, cancellation);
                store?.Save(b, batch);
            }
            progress?.Report(new LikelihoodProgress(b, batches, terms, terms, done, size, settings.Count));
            images.AddRange(batch.Images);
            for (var t = 0; t < terms; t++)
            {
                termSums[t] += batch.TermSums[t];
                noiseSums[t] += batch.NoiseMseSums[t];
                startSums[t] += batch.StartMseSums[t];
            }
        }
        double[] Mean(double[] sums) => [.. sums.Select(s => s / settings.Count)];
        return new LikelihoodResult(images, Mean(termSums), Mean(noiseSums), Mean(startSums));
    }

    /// <summary>
    /// Every term of the bound for the images <paramref name="x0"/> [B, C, H, W] (at bin centres in [−1, 1]), which are
    /// images <paramref name="firstImage"/>.. of the run. <paramref name="onTerm"/> gets the number of terms done so far,
    /// <paramref name="onTermEvaluated"/> each term's x̂_0 (valid during the call only).
    /// </summary>
    public BoundBatch EvaluateBatch(Tensor x0, int firstImage, long seed, bool clipDenoised = true, Action<int>? onTerm = null,
        Action<TermEvaluatedEvent>? onTermEvaluated = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(x0);
        if (x0.dim() < 2) throw new ArgumentException($"Images must be a batch [B, …] (got {x0.dim()} dimensions).", nameof(x0));
        using var noGrad = no_grad();
        var count = (int)x0.shape[0];
        var terms = diffusion.Timesteps;
        var diffusionBits = new double[count];
        var decoderBits = new double[count];
        var termSums = new double[terms];
        var noiseSums = new double[terms];
        var startSums = new double[terms];
        double[] prior;
        using (var priorBits = bound.PriorBits(x0)) prior = priorBits.cpu().data<double>().ToArray();

        using var generator = new Generator(0UL, x0.device);
        var imageShape = x0.shape[1..];
        for (var t = terms - 1; t >= 0; t--)
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var noise = stack(Enumerable.Range(0, count).Select(i =>
            {
                generator.manual_seed(NoiseSeed(seed, firstImage + i, t));
                return randn(imageShape, dtype: x0.dtype, device: x0.device, generator: generator);
            }).ToArray());
            var timesteps = GaussianDiffusion.TimestepTensor(t, count);
            var xt = diffusion.QSample(x0, timesteps, noise);
            var output = model(xt, timesteps).to(x0.dtype);
            var term = bound.Term(output, x0, xt, timesteps, clipDenoised);
            var predictedNoise = diffusion.PredictNoiseFromStart(xt, timesteps, term.PredictedStart);
            onTermEvaluated?.Invoke(new TermEvaluatedEvent(firstImage, t, x0, term.PredictedStart));
            var bits = term.Bits.cpu().data<double>().ToArray();
            var noiseMse = MeanSquaredError(predictedNoise, noise);
            var startMse = MeanSquaredError(term.PredictedStart, x0);
            for (var i = 0; i < count; i++)
            {
                if (t == 0) decoderBits[i] = bits[i];
                else diffusionBits[i] += bits[i];
                termSums[t] += bits[i];
                noiseSums[t] += noiseMse[i];
                startSums[t] += startMse[i];
            }
            onTerm?.Invoke(terms - t);
        }
        var images = Enumerable.Range(0, count).Select(i => new ImageBound(firstImage + i, prior[i], diffusionBits[i], decoderBits[i])).ToArray();
        return new BoundBatch(firstImage, images, termSums, noiseSums, startSums);
    }

    private static double[] MeanSquaredError(Tensor a, Tensor b)
    {
        using var error = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).square().flatten(1).mean([1]);
        using var onCpu = error.cpu();
        return onCpu.data<double>().ToArray();
    }

    private static Tensor LoadImages(IDataset data, int first, int count, Device? device) => DatasetImages.Read(data, first, count, device);
}
