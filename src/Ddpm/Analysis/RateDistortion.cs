using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Imaging;
using static TorchSharp.torch;

namespace Ddpm.Analysis;

/// <summary>What <see cref="RateDistortion"/> evaluates: the bound's settings and the reconstructions to keep.</summary>
public sealed record RateDistortionSettings
{
    /// <summary>The images, seed, batch size and clipping of the bound's evaluation (<see cref="LikelihoodEstimator"/>).</summary>
    public LikelihoodSettings Bound { get; init; } = new();

    /// <summary>Images whose reconstructions are kept, the first of the run (at most the run's count). Default 8.</summary>
    public int ReconstructionImages { get; init; } = 8;

    /// <summary>Reverse steps at which they are kept, evenly spaced over the chain (the last included). Default 10.</summary>
    public int ReconstructionSteps { get; init; } = 10;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public RateDistortionSettings Validate()
    {
        ArgumentNullException.ThrowIfNull(Bound);
        Bound.Validate();
        if (ReconstructionImages < 1) throw new ArgumentException($"At least one image must be reconstructed (got {ReconstructionImages}).");
        if (ReconstructionSteps < 1) throw new ArgumentException($"At least one reconstruction step is needed (got {ReconstructionSteps}).");
        return this;
    }
}

/// <summary>
/// One point of the rate–distortion curve, after <paramref name="Step"/> of the T reverse steps: the receiver holds x_t at
/// the 0-based <paramref name="Timestep"/> = T − Step and predicts x̂_0 from it.
/// </summary>
/// <param name="Step">Reverse steps done, 1..T.</param>
/// <param name="Timestep">The 0-based timestep of the x_t held, T − Step.</param>
/// <param name="Rate">Bits/dim sent so far: L_T and the KL terms of the steps before (mean over images).</param>
/// <param name="Distortion">RMSE of x̂_0 against x_0 on the [0, 255] scale, over all images and pixels.</param>
public sealed record RateDistortionPoint(int Step, int Timestep, double Rate, double Distortion);

/// <summary>The curve, the bound it came from, and reconstructions x̂_0 of the first images at a few rates.</summary>
/// <param name="Points">One point per reverse step, Step = 1 … T.</param>
/// <param name="Bound">The bound of every image and its mean terms (as <c>ddpm nll</c> with the same seed).</param>
/// <param name="ReconstructionTimesteps">The 0-based timesteps of the reconstructions' columns, descending (rate ascending).</param>
/// <param name="Reconstructions">x̂_0 [M, K, C, H, W] in [−1, 1]: image m at the K <paramref name="ReconstructionTimesteps"/>.</param>
/// <param name="Originals">The M images x_0 [M, C, H, W].</param>
public sealed record RateDistortionResult(
    IReadOnlyList<RateDistortionPoint> Points, LikelihoodResult Bound, IReadOnlyList<int> ReconstructionTimesteps, Tensor Reconstructions, Tensor Originals)
    : IDisposable
{
    /// <summary>The point at <paramref name="timestep"/>.</summary>
    public RateDistortionPoint At(int timestep) => Points[Points.Count - 1 - timestep];

    /// <inheritdoc />
    public void Dispose()
    {
        Reconstructions.Dispose();
        Originals.Dispose();
    }
}

/// <summary>
/// Progressive lossy compression (Ho et al. 2020, §4.3, Algorithms 3 and 4, Fig. 5): sending x_T, x_{T−1}, … costs the
/// bound's terms L_T, L_{T−1}, … (bits/dim), and after each the receiver can estimate x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t.
/// The rate after a step is the cumulative cost, the distortion the RMSE of x̂_0 on [0, 255]. The terms are the bound's
/// (<see cref="LikelihoodEstimator"/>, so the rate at the end is L_T + Σ L_{t−1} = the bound minus the decoder's L_0).
/// </summary>
/// <remarks>
/// Differences from the paper, both leaving the expectations unchanged: every term's x_t is drawn from q(x_t | x_0) with
/// the bound's own noise (as <c>ddpm nll</c> with the same seed), rather than from one chain x_T → x_0 of posterior draws,
/// since each term and each x̂_0 depend on x_t's marginal only; and x̂_0 is clipped to [−1, 1] when the bound clips it
/// (the default, as the official <c>calc_bpd_loop</c>), which only brings it closer to the data.
/// </remarks>
/// <param name="diffusion">The process the model was trained for.</param>
/// <param name="model">The network: (x_t, 0-based t) → output, float32.</param>
/// <param name="device">The network's device (the CPU when null).</param>
public sealed class RateDistortion(GaussianDiffusion diffusion, Func<Tensor, Tensor, Tensor> model, Device? device = null)
{
    private readonly LikelihoodEstimator estimator = new(diffusion, model, device);

    /// <summary>The curve over the first <see cref="LikelihoodSettings.Count"/> images of <paramref name="data"/>.</summary>
    /// <exception cref="ArgumentException">Invalid settings, or more images asked for than the data set has.</exception>
    public RateDistortionResult Evaluate(IDataset data, RateDistortionSettings settings, IProgress<LikelihoodProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var terms = diffusion.Timesteps;
        var shown = Math.Min(settings.ReconstructionImages, settings.Bound.Count);
        var columns = ChainRecorder.EvenlySpaced(terms, Math.Min(settings.ReconstructionSteps, terms)).Select(step => terms - 1 - step).ToArray();
        var wanted = columns.ToHashSet();
        var kept = columns.ToDictionary(t => t, _ => new List<Tensor>());
        var originals = new List<Tensor>();
        try
        {
            var bound = estimator.Evaluate(data, settings.Bound, progress, store: null, onTermEvaluated: e =>
            {
                var take = Math.Min((int)e.PredictedStart.shape[0], shown - e.FirstImage);
                if (take <= 0) return;
                if (wanted.Contains(e.Timestep)) kept[e.Timestep].Add(Keep(e.PredictedStart, take));
                if (e.Timestep == terms - 1) originals.Add(Keep(e.Start, take));
            }, cancellation);
            using var scope = NewDisposeScope();
            var reconstructions = stack(columns.Select(t => cat(kept[t], 0)).ToArray(), 1);
            return new RateDistortionResult(Curve(bound), bound, columns, reconstructions.MoveToOuterDisposeScope(),
                cat(originals, 0).MoveToOuterDisposeScope());
        }
        finally
        {
            foreach (var t in kept.Values.SelectMany(l => l).Concat(originals)) t.Dispose();
        }
    }

    /// <summary>
    /// The curve from a bound's mean terms: at 0-based timestep t, rate = L_T + Σ_{s &gt; t} term_s and distortion =
    /// 127.5 · √(mean squared error of x̂_0 at t), the [−1, 1] error scaled to [0, 255].
    /// </summary>
    public static IReadOnlyList<RateDistortionPoint> Curve(LikelihoodResult bound)
    {
        ArgumentNullException.ThrowIfNull(bound);
        var terms = bound.TermMeans.Length;
        var points = new RateDistortionPoint[terms];
        var rate = bound.Prior;
        for (var t = terms - 1; t >= 0; t--)
        {
            points[terms - 1 - t] = new RateDistortionPoint(terms - t, t, rate, PixelConversion.HalfRange * Math.Sqrt(bound.StartMse[t]));
            rate += bound.TermMeans[t];
        }
        return points;
    }

    private static Tensor Keep(Tensor images, int take) => images.narrow(0, 0, take).detach().cpu().to(ScalarType.Float32).clone().DetachFromDisposeScope();
}
