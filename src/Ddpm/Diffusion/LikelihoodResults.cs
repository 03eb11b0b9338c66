using Ddpm.Evaluation;
using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>What <see cref="LikelihoodEstimator"/> evaluates. Defaults follow the issue and the official <c>calc_bpd_loop</c>.</summary>
public sealed record LikelihoodSettings
{
    /// <summary>Number of images, the first <see cref="Count"/> of the data set. Default 256.</summary>
    public int Count { get; init; } = 256;

    /// <summary>Seed of the forward draws: term t of image i uses noise seeded from (seed, i, t) only.</summary>
    public long Seed { get; init; }

    /// <summary>Images per model call; does not change any image's terms.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Clip x̂_0 to [−1, 1] before forming μ_θ, as <c>calc_bpd_loop(clip_denoised=True)</c> in the official code.</summary>
    public bool ClipDenoised { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public LikelihoodSettings Validate()
    {
        if (Count < 1) throw new ArgumentException($"The image count must be positive (got {Count}).");
        if (BatchSize < 1) throw new ArgumentException($"The batch size must be positive (got {BatchSize}).");
        return this;
    }
}

/// <summary>The bound of one image in bits/dim: L_T, Σ_{t≥2} L_{t−1} and L_0.</summary>
/// <param name="Index">The image's index in the data set.</param>
/// <param name="Prior">L_T.</param>
/// <param name="Diffusion">Σ of the KL terms at 0-based timesteps 1..T−1.</param>
/// <param name="Decoder">L_0 = −log p_θ(x_0 | x_1).</param>
public sealed record ImageBound(int Index, double Prior, double Diffusion, double Decoder)
{
    /// <summary>The whole bound, an upper bound on the image's negative log-likelihood.</summary>
    public double Total => Prior + Diffusion + Decoder;
}

/// <summary>
/// The bound of a run of consecutive images, and per 0-based timestep the sums over those images of the term (bits/dim),
/// of the mean squared error of ε̂ and of the mean squared error of x̂_0 (the columns of the official <c>calc_bpd_loop</c>).
/// </summary>
public sealed record BoundBatch(int FirstImage, IReadOnlyList<ImageBound> Images, double[] TermSums, double[] NoiseMseSums, double[] StartMseSums);

/// <summary>
/// A term of the bound just evaluated for a batch of images: the data x_0 and the x̂_0 the model implied from x_t at the
/// 0-based <paramref name="Timestep"/> (clipped when the settings clip). The tensors live only during the callback.
/// </summary>
/// <param name="FirstImage">The index of the batch's first image in the run.</param>
/// <param name="Timestep">The 0-based timestep of the term.</param>
/// <param name="Start">The data x_0 of the batch.</param>
/// <param name="PredictedStart">x̂_0 predicted from x_t.</param>
public sealed record TermEvaluatedEvent(int FirstImage, int Timestep, Tensor Start, Tensor PredictedStart);

/// <summary>Where an evaluation is: batch (0-based) of batches, terms done within it, images finished before it.</summary>
public sealed record LikelihoodProgress(int Batch, int Batches, int TermsDone, int Terms, int ImagesDone, int BatchImages, int Images)
{
    /// <summary>Images' worth of work done, counting a batch's finished terms proportionally.</summary>
    public double ImagesEquivalent => ImagesDone + (double)BatchImages * TermsDone / Terms;
}

/// <summary>The bound over a set of images, in bits/dim.</summary>
/// <param name="Images">Each image's bound, in index order.</param>
/// <param name="TermMeans">Per 0-based timestep t, the mean over images of the term (t = 0: L_0; t ≥ 1: the KL at paper step t + 1).</param>
/// <param name="NoiseMse">Per timestep, the mean over images of the mean squared error of ε̂.</param>
/// <param name="StartMse">Per timestep, the mean over images of the mean squared error of x̂_0.</param>
public sealed record LikelihoodResult(IReadOnlyList<ImageBound> Images, double[] TermMeans, double[] NoiseMse, double[] StartMse)
{
    /// <summary>The mean bound over images: the NLL estimate.</summary>
    public double Mean => Images.Average(i => i.Total);

    /// <summary>The standard error of <see cref="Mean"/>: the images' sample standard deviation over √N (0 for one image).</summary>
    public double StandardError => Images.Count < 2 ? 0 : MeanEstimate.Of(Images.Select(i => i.Total)).StandardError;

    /// <summary>Mean L_T.</summary>
    public double Prior => Images.Average(i => i.Prior);

    /// <summary>Mean Σ_{t≥2} L_{t−1}.</summary>
    public double Diffusion => Images.Average(i => i.Diffusion);

    /// <summary>Mean L_0.</summary>
    public double Decoder => Images.Average(i => i.Decoder);
}

/// <summary>Keeps finished batches so an interrupted evaluation can continue (see <see cref="BoundBatchFiles"/>).</summary>
public interface IBoundBatchStore
{
    /// <summary>The batch saved under <paramref name="batch"/>, or null.</summary>
    BoundBatch? TryLoad(int batch);

    /// <summary>Saves a finished batch.</summary>
    void Save(int batch, BoundBatch result);
}
