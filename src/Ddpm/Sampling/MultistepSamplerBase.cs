using Ddpm.Diffusion;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>Where the last step of a multistep solver lands (diffusers' <c>final_sigmas_type</c>).</summary>
public enum FinalSigmas
{
    /// <summary>σ = 0: the last step returns the data prediction itself (diffusers' default).</summary>
    Zero,

    /// <summary>The noise level of timestep 0, σ_0 = √(1 − ᾱ_0): the state the chain's first step starts from.</summary>
    SigmaMin,
}

/// <summary>
/// Dynamic thresholding of x̂_0 (Saharia et al. 2022, Imagen; diffusers' <c>thresholding</c>): per image, s is the
/// <see cref="Ratio"/> quantile of |x̂_0| clamped to [1, <see cref="MaxValue"/>], and x̂_0 becomes clamp(x̂_0, −s, s)/s.
/// With <see cref="MaxValue"/> = 1 this is plain clipping to [−1, 1]; below 1, s = <see cref="MaxValue"/> (as torch.clamp with min &gt; max).
/// </summary>
/// <param name="Ratio">The quantile of |x̂_0| (diffusers' <c>dynamic_thresholding_ratio</c>, 0.995).</param>
/// <param name="MaxValue">The largest threshold s (diffusers' <c>sample_max_value</c>, 1.0).</param>
public sealed record DynamicThresholding(double Ratio = 0.995, double MaxValue = 1.0)
{
    /// <summary>Thresholds a batch of x̂_0 [B, …] image by image.</summary>
    public Tensor Apply(Tensor x0)
    {
        using var scope = NewDisposeScope();
        var flat = x0.reshape(x0.shape[0], -1);
        using var q = tensor(Ratio, dtype: flat.dtype, device: flat.device);
        var s = flat.abs().quantile(q, dim: 1).clamp(1.0, MaxValue).unsqueeze(1);
        var clamped = minimum(maximum(flat, -s), s) / s;
        return clamped.reshape(x0.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when the ratio is not in (0, 1] or the maximum is not positive.</summary>
    public DynamicThresholding Validate()
    {
        if (!(Ratio > 0 && Ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(Ratio), Ratio, "The thresholding ratio must be in (0, 1].");
        if (!(MaxValue > 0)) throw new ArgumentOutOfRangeException(nameof(MaxValue), MaxValue, "The thresholding maximum must be positive.");
        return this;
    }
}

/// <summary>
/// What the exponential-integrator solvers (DPM-Solver, DPM-Solver++, UniPC) share: the visited timesteps plus a final point,
/// their α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t) and half-log-SNR λ_t = log α_t − log σ_t in float64 (Lu et al. 2022a), the
/// conversion of the model's output to a data (x̂_0) or noise (ε̂) prediction, and the history of converted outputs a
/// multistep method needs.
/// </summary>
/// <remarks>
/// The history makes the sampler stateful: call <see cref="ISampler.Step"/> once per timestep, in the order of
/// <see cref="ISampler.Timesteps"/>. A step at the first timestep starts a new trajectory (as does <see cref="Reset"/>), so one
/// instance can sample batch after batch; a fresh or reset sampler may also start at a later timestep (from a partly noised
/// image, as diffusers' image-to-image), with first-order steps until it has history; a step out of order throws. The history is released after the last step and on
/// <see cref="Dispose"/>. diffusers keeps the same state (<c>model_outputs</c>, <c>lower_order_nums</c>, <c>step_index</c>)
/// but follows its own step counter whatever timestep is passed; schedule values here are float64 where diffusers keeps σ in
/// float32.
/// </remarks>
public abstract class MultistepSamplerBase : SamplerBase, IDisposable
{
    private readonly double[] alphas;
    private readonly double[] sigmas;
    private readonly double[] lambdas;
    private readonly Tensor?[] history;
    private readonly ModelMeanType meanType;
    private readonly GaussianDiffusion diffusion;
    private readonly DynamicThresholding? thresholding;
    private int next;
    private bool started;

    /// <summary>Sets up the float64 schedule over <paramref name="timesteps"/> plus the final point.</summary>
    protected MultistepSamplerBase(GaussianDiffusion diffusion, int[] timesteps, int order, FinalSigmas finalSigmas, bool dataPrediction, DynamicThresholding? thresholding)
        : base(timesteps)
    {
        if (order is < 1 or > 3) throw new ArgumentOutOfRangeException(nameof(order), order, "The solver order must be 1, 2 or 3.");
        Order = order;
        DataPrediction = dataPrediction;
        this.diffusion = diffusion;
        // A μ̃-predicting model's output is turned into x̂_0 on the training chain first (Step), then solved as x_0-prediction.
        meanType = diffusion.MeanType == ModelMeanType.PreviousX ? ModelMeanType.StartX : diffusion.MeanType;
        this.thresholding = thresholding?.Validate();
        var ab = diffusion.Schedule.AlphasCumprod;
        var n = timesteps.Length;
        alphas = new double[n + 1];
        sigmas = new double[n + 1];
        lambdas = new double[n + 1];
        for (var i = 0; i <= n; i++)
        {
            var abar = i < n ? ab[timesteps[i]] : finalSigmas == FinalSigmas.Zero ? 1.0 : ab[0];
            alphas[i] = Math.Sqrt(abar);
            sigmas[i] = Math.Sqrt(1.0 - abar);
            lambdas[i] = Math.Log(alphas[i]) - Math.Log(sigmas[i]);
        }
        history = new Tensor?[order];
    }

    /// <summary>The solver order p (the number of model outputs a step may use).</summary>
    public int Order { get; }

    /// <summary>Whether the solver integrates the data prediction x̂_0 (DPM-Solver++, UniPC's default) rather than the noise ε̂.</summary>
    public bool DataPrediction { get; }

    /// <summary>Steps taken since the trajectory began, capped at <see cref="Order"/> (diffusers' <c>lower_order_nums</c>).</summary>
    protected int LowerOrderNums { get; private set; }

    /// <summary>α at position <paramref name="i"/> of the visiting order (position n is the final point).</summary>
    protected double Alpha(int i) => alphas[i];

    /// <summary>σ at position <paramref name="i"/> (0 at a final point of <see cref="FinalSigmas.Zero"/>).</summary>
    protected double Sigma(int i) => sigmas[i];

    /// <summary>λ = log α − log σ at position <paramref name="i"/> (+∞ at a final point of <see cref="FinalSigmas.Zero"/>).</summary>
    protected double Lambda(int i) => lambdas[i];

    /// <summary>The converted output <paramref name="back"/> steps ago (0 = the newest in the history).</summary>
    protected Tensor History(int back) => history[^(back + 1)] ?? throw new InvalidOperationException("The solver's history is shorter than its order.");

    /// <summary>Appends a converted model output to the history (a copy the sampler owns), dropping the oldest.</summary>
    protected void Push(Tensor converted)
    {
        history[0]?.Dispose();
        for (var k = 0; k + 1 < history.Length; k++) history[k] = history[k + 1];
        history[^1] = converted.clone().DetachFromDisposeScope();
    }

    /// <summary>Forgets the trajectory: the next step must be at the first timestep.</summary>
    public virtual void Reset()
    {
        for (var k = 0; k < history.Length; k++)
        {
            history[k]?.Dispose();
            history[k] = null;
        }
        LowerOrderNums = 0;
        next = 0;
        started = false;
    }

    /// <inheritdoc />
    public override bool AddsNoise(int timestep) => AddsNoiseAt(PositionOf(timestep));

    /// <summary>Whether the step from position <paramref name="i"/> draws noise (false: the ODE solvers are deterministic).</summary>
    protected virtual bool AddsNoiseAt(int i) => false;

    /// <inheritdoc />
    public sealed override StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null)
    {
        using (diffusion.MeanOutput(modelOutput, sample)) { } // checks the output's shape (a learned variance's channels are not used)
        var i = PositionOf(timestep);
        if (i == 0) Reset();
        else if (started && i != next)
            throw new InvalidOperationException(
                $"Step at timestep {timestep} out of order: this multistep sampler expects timestep {TimestepArray[next]} next (or the first, {TimestepArray[0]}, to start again).");
        started = true;
        using var scope = NewDisposeScope();
        var work = sample.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : sample.dtype;
        var x = sample.to(work);
        var output = diffusion.MeanType == ModelMeanType.PreviousX
            ? diffusion.PredictStart(modelOutput.to(work), x, GaussianDiffusion.TimestepTensor(timestep, x.shape[0]))
            : diffusion.MeanOutput(modelOutput.to(work), x);
        var x0 = PredictStart(output, x, i);
        var converted = DataPrediction ? x0 : PredictNoise(output, x, i, x0);
        using var stepNoise = AddsNoiseAt(i) ? StepNoise(x, generator, noise?.to(work)) : null;
        var previous = Advance(converted, x, i, stepNoise);
        if (LowerOrderNums < Order) LowerOrderNums++;
        next = i + 1;
        if (next == TimestepArray.Length) Reset();
        return new StepResult(previous.to(sample.dtype).MoveToOuterDisposeScope(), x0.to(sample.dtype).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The solver's update from position <paramref name="i"/> to <paramref name="i"/> + 1, given the converted model output there
    /// (not yet in the history: the update pushes it when it should), and the step's noise when <see cref="AddsNoiseAt"/> says it draws one.
    /// </summary>
    protected abstract Tensor Advance(Tensor converted, Tensor sample, int i, Tensor? noise);

    /// <summary>Disposes the history.</summary>
    public void Dispose()
    {
        Reset();
        GC.SuppressFinalize(this);
    }

    /// <summary>x̂_0 from the model output at position <paramref name="i"/> (ε: (x − σε)/α; v: αx − σv), thresholded when asked.</summary>
    private Tensor PredictStart(Tensor output, Tensor x, int i)
    {
        var (a, s) = (alphas[i], sigmas[i]);
        var x0 = meanType switch
        {
            ModelMeanType.Epsilon => (x - output * s) / a,
            ModelMeanType.StartX => output.alias(),
            ModelMeanType.Velocity => x * a - output * s,
            _ => throw new InvalidOperationException($"Unknown model mean type {meanType}."),
        };
        return thresholding is null ? x0 : thresholding.Apply(x0);
    }

    /// <summary>
    /// ε̂ for the noise-prediction solvers: the model's ε, or the noise implied by x (x_0: (x − αx̂_0)/σ; v: αv + σx). With
    /// thresholding, the noise implied by the thresholded x̂_0, as diffusers.
    /// </summary>
    private Tensor PredictNoise(Tensor output, Tensor x, int i, Tensor x0)
    {
        var (a, s) = (alphas[i], sigmas[i]);
        if (thresholding is not null) return (x - x0 * a) / s;
        return meanType switch
        {
            ModelMeanType.Epsilon => output.alias(),
            ModelMeanType.StartX => (x - output * a) / s,
            ModelMeanType.Velocity => output * a + x * s,
            _ => throw new InvalidOperationException($"Unknown model mean type {meanType}."),
        };
    }
}
