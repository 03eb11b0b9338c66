using Ddpm.Diffusion;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>The B(h) of UniPC's update (Zhao et al. 2023; diffusers' <c>solver_type</c>).</summary>
public enum UniPcVariant
{
    /// <summary>B(h) = h (recommended by diffusers for unconditional sampling under 10 steps).</summary>
    Bh1,

    /// <summary>B(h) = e^h − 1. diffusers' default.</summary>
    Bh2,
}

/// <summary>Options of the UniPC sampler. Defaults are diffusers' <c>UniPCMultistepScheduler</c>'s.</summary>
public sealed record UniPcOptions
{
    /// <summary>Model calls. 20, as DPM-Solver++ (UniPC reports CIFAR-10 FID 3.87 at 10 calls, Zhao et al. 2023); diffusers has no default.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>The predictor's order p, 1–3 (the corrector raises the accuracy to p + 1). 2, diffusers' default.</summary>
    public int Order { get; init; } = 2;

    /// <summary>B(h): bh2 (diffusers' default) or bh1.</summary>
    public UniPcVariant Variant { get; init; } = UniPcVariant.Bh2;

    /// <summary>Integrate the data prediction x̂_0 (true, diffusers' <c>predict_x0</c> default) or the noise ε̂.</summary>
    public bool PredictX0 { get; init; } = true;

    /// <summary>Lower the order in the last steps: order min(p, steps left) (diffusers' <c>lower_order_final</c>, on).</summary>
    public bool LowerOrderFinal { get; init; } = true;

    /// <summary>
    /// Positions (0-based step indices) whose predictor result is not corrected (diffusers' <c>disable_corrector</c>: the corrector
    /// run at the start of step j + 1 is skipped for j in the list). Empty by default.
    /// </summary>
    public IReadOnlyList<int> DisableCorrector { get; init; } = [];

    /// <summary>Where the last step lands: σ = 0 (diffusers' default) or σ_0.</summary>
    public FinalSigmas FinalSigmas { get; init; } = FinalSigmas.Zero;

    /// <summary>Timestep spacing (diffusers' multistep variant, <see cref="SamplingTimesteps.CreateMultistep"/>); default linspace, as diffusers.</summary>
    public TimestepSpacing Spacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Offset added to leading timesteps (diffusers' <c>steps_offset</c>, 0).</summary>
    public int StepsOffset { get; init; }

    /// <summary>
    /// Dynamic thresholding of x̂_0; null (off) by default, as diffusers. With <see cref="PredictX0"/> off it acts through the
    /// noise implied by the thresholded x̂_0, where diffusers ignores it.
    /// </summary>
    public DynamicThresholding? Thresholding { get; init; }
}

/// <summary>
/// UniPC (Zhao et al. 2023), after diffusers' <c>UniPCMultistepScheduler</c>: the multistep predictor UniP-p and, at the start of
/// every step after the first, the corrector UniC, which refines the previous step's result with the model output just
/// computed at it, so the accuracy rises by one order at no extra model call. Deterministic: no step adds noise.
/// </summary>
/// <remarks>
/// Where this differs from diffusers: no <c>solver_p</c>, Karras/exponential/beta/flow σ spacings or custom σ lists; orders
/// above 3 are refused; schedule values are float64; when the last step lands on σ = 0 it is first order (the higher-order
/// terms vanish there but evaluate to NaN in diffusers when <c>lower_order_final</c> is off, or with bh1, where B(h) = −∞);
/// noise prediction with σ = 0 at the end is refused (σ_t·(e^h − 1) is 0·∞ there; diffusers refuses it for DPM-Solver only);
/// steps must come in order (see <see cref="MultistepSamplerBase"/>).
/// </remarks>
public sealed class UniPcSampler : MultistepSamplerBase
{
    private readonly UniPcOptions options;
    private readonly HashSet<int> disabledCorrector;
    private Tensor? lastSample;
    private int thisOrder;

    /// <summary>A sampler for models trained on <paramref name="diffusion"/>.</summary>
    public UniPcSampler(GaussianDiffusion diffusion, UniPcOptions? options = null)
        : base(diffusion, ChooseTimesteps(diffusion, options ??= new UniPcOptions()), options.Order, options.FinalSigmas, options.PredictX0, options.Thresholding)
    {
        this.options = options;
        if (!options.PredictX0 && options.FinalSigmas == FinalSigmas.Zero)
            throw new ArgumentException("UniPC with noise prediction cannot end at σ = 0: choose the sigma-min final step or predict x0.", nameof(options));
        disabledCorrector = [.. options.DisableCorrector];
    }

    private static int[] ChooseTimesteps(GaussianDiffusion diffusion, UniPcOptions options) =>
        SamplingTimesteps.CreateMultistep(options.Spacing, diffusion.Timesteps, options.Steps, options.StepsOffset);

    /// <inheritdoc />
    public override void Reset()
    {
        base.Reset();
        lastSample?.Dispose();
        lastSample = null;
        thisOrder = 0;
    }

    /// <inheritdoc />
    protected override Tensor Advance(Tensor converted, Tensor sample, int i, Tensor? noise)
    {
        var n = TimestepArray.Length;
        var x = sample;
        if (i > 0 && !disabledCorrector.Contains(i - 1) && lastSample is not null) x = Corrector(converted, lastSample, i);
        Push(converted);
        var order = options.LowerOrderFinal ? Math.Min(Order, n - i) : Order;
        if (i == n - 1 && Sigma(n) == 0) order = 1;
        thisOrder = Math.Min(order, LowerOrderNums + 1);
        lastSample?.Dispose();
        lastSample = x.clone().DetachFromDisposeScope();
        return Predictor(x, i, thisOrder);
    }

    /// <summary>UniP-p (Zhao et al. 2023), B(h) form: from position <paramref name="i"/> to i + 1 with the last p outputs.</summary>
    private Tensor Predictor(Tensor x, int i, int order)
    {
        using var scope = NewDisposeScope();
        var h = Lambda(i + 1) - Lambda(i);
        var m0 = History(0);
        var rks = new double[order - 1];
        var d1s = new Tensor[order - 1];
        for (var k = 1; k < order; k++)
        {
            rks[k - 1] = (Lambda(i - k) - Lambda(i)) / h;
            d1s[k - 1] = (History(k) - m0) / rks[k - 1];
        }
        var c = Coefficients(h, rks, order);
        var result = x * StepCoefficients.Linear(this, i) + m0 * c.Phi1Weight(this, i);
        if (order > 1)
        {
            // Order 2 uses ρ = ½, as diffusers' "simplified version"; above, ρ solves the p − 1 leading equations R ρ = b.
            var rhos = order == 2 ? [0.5] : Solve(c.R, c.B, order - 1);
            var weight = c.ResidualWeight(this, i);
            for (var k = 0; k < rhos.Length; k++) result = result + d1s[k] * (weight * rhos[k]);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// UniC-p (Zhao et al. 2023), B(h) form: corrects x at position <paramref name="i"/>, reached from
    /// <paramref name="last"/> at i − 1, with the model output <paramref name="modelAtI"/> just computed at it.
    /// </summary>
    private Tensor Corrector(Tensor modelAtI, Tensor last, int i)
    {
        using var scope = NewDisposeScope();
        var order = thisOrder;
        var s = i - 1;
        var h = Lambda(i) - Lambda(s);
        var m0 = History(0);
        var rks = new double[order - 1];
        var d1s = new Tensor[order - 1];
        for (var k = 1; k < order; k++)
        {
            rks[k - 1] = (Lambda(s - k) - Lambda(s)) / h;
            d1s[k - 1] = (History(k) - m0) / rks[k - 1];
        }
        var c = Coefficients(h, rks, order);
        var rhos = order == 1 ? [0.5] : Solve(c.R, c.B, order);
        var weight = c.ResidualWeight(this, s);
        var result = last * StepCoefficients.Linear(this, s) + m0 * c.Phi1Weight(this, s);
        for (var k = 0; k < order - 1; k++) result = result + d1s[k] * (weight * rhos[k]);
        result = result + (modelAtI - m0) * (weight * rhos[^1]);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The scalar part of a UniP/UniC step of size h: with ĥ = −h for data prediction (h for noise), φ-weights
    /// b_k = ĥφ_k(ĥ)·k!/B(ĥ) and R_{k,j} = r_j^{k−1} over the r_j of the earlier outputs and a last r = 1 (Zhao et al. 2023).
    /// </summary>
    private StepCoefficients Coefficients(double h, double[] rks, int order)
    {
        var hh = DataPrediction ? -h : h;
        var hPhi1 = Expm1(hh);
        var bh = options.Variant == UniPcVariant.Bh1 ? hh : Expm1(hh);
        var r = new double[order, order];
        var b = new double[order];
        var hPhiK = hPhi1 / hh - 1.0;
        var factorial = 1.0;
        for (var k = 1; k <= order; k++)
        {
            for (var j = 0; j < order; j++) r[k - 1, j] = Math.Pow(j < rks.Length ? rks[j] : 1.0, k - 1);
            b[k - 1] = hPhiK * factorial / bh;
            factorial *= k + 1;
            hPhiK = hPhiK / hh - 1.0 / factorial;
        }
        return new StepCoefficients(hPhi1, bh, r, b);
    }

    /// <summary>e^x − 1 without cancellation near 0 (diffusers uses torch.expm1).</summary>
    private static double Expm1(double x) => Math.Abs(x) < 1e-5 ? x + x * x / 2 + x * x * x / 6 : Math.Exp(x) - 1.0;

    /// <summary>Solves the leading <paramref name="size"/>×<paramref name="size"/> block of R ρ = b by Gaussian elimination with partial pivoting.</summary>
    private static double[] Solve(double[,] r, double[] b, int size)
    {
        var a = new double[size, size + 1];
        for (var row = 0; row < size; row++)
        {
            for (var col = 0; col < size; col++) a[row, col] = r[row, col];
            a[row, size] = b[row];
        }
        for (var col = 0; col < size; col++)
        {
            var pivot = col;
            for (var row = col + 1; row < size; row++)
                if (Math.Abs(a[row, col]) > Math.Abs(a[pivot, col])) pivot = row;
            for (var k = 0; k <= size; k++) (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
            for (var row = col + 1; row < size; row++)
            {
                var f = a[row, col] / a[col, col];
                for (var k = col; k <= size; k++) a[row, k] -= f * a[col, k];
            }
        }
        var x = new double[size];
        for (var row = size - 1; row >= 0; row--)
        {
            var sum = a[row, size];
            for (var k = row + 1; k < size; k++) sum -= a[row, k] * x[k];
            x[row] = sum / a[row, row];
        }
        return x;
    }

    /// <summary>A step's scalars: hφ_1(ĥ) = e^ĥ − 1, B(ĥ), and the order conditions R ρ = b.</summary>
    private sealed record StepCoefficients(double HPhi1, double Bh, double[,] R, double[] B)
    {
        /// <summary>Coefficient of the state the step starts from at position s: σ_t/σ_s (data) or α_t/α_s (noise).</summary>
        public static double Linear(UniPcSampler p, int s) => p.DataPrediction ? p.Sigma(s + 1) / p.Sigma(s) : p.Alpha(s + 1) / p.Alpha(s);

        /// <summary>Coefficient of m0: −α_t hφ_1 (data) or −σ_t hφ_1 (noise).</summary>
        public double Phi1Weight(UniPcSampler p, int s) => -(p.DataPrediction ? p.Alpha(s + 1) : p.Sigma(s + 1)) * HPhi1;

        /// <summary>Common factor of the ρ-weighted differences: −α_t B(h) (data) or −σ_t B(h) (noise).</summary>
        public double ResidualWeight(UniPcSampler p, int s) => -(p.DataPrediction ? p.Alpha(s + 1) : p.Sigma(s + 1)) * Bh;
    }
}
