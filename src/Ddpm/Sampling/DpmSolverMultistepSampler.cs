using Ddpm.Diffusion;
using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>Which quantity DPM-Solver integrates, and whether it solves the ODE or the SDE (diffusers' <c>algorithm_type</c>; the deprecated <c>sde-dpmsolver</c> is not implemented).</summary>
public enum DpmSolverAlgorithm
{
    /// <summary>DPM-Solver++ (Lu et al. 2022b): the data prediction x̂_0. diffusers' default.</summary>
    DpmSolverPlusPlus,

    /// <summary>DPM-Solver (Lu et al. 2022a): the noise prediction ε̂.</summary>
    DpmSolver,

    /// <summary>
    /// SDE-DPM-Solver++ (Lu et al. 2022b, Appendix; diffusers' <c>sde-dpmsolver++</c>): the data prediction, integrating the
    /// reverse SDE, so every step but one landing on σ = 0 adds fresh noise σ_t √(1 − e^{−2h}) z.
    /// </summary>
    SdeDpmSolverPlusPlus,
}

/// <summary>The second-order multistep update (diffusers' <c>solver_type</c>).</summary>
public enum DpmSolverType
{
    /// <summary>D1 weighted ½ (Lu et al. 2022b, Algorithm 2). diffusers' default and recommendation.</summary>
    Midpoint,

    /// <summary>D1 weighted by the exact coefficient of a model output linear in λ: α_t((e^{−h} − 1)/h + 1) for DPM-Solver++ (Lu et al. 2022a).</summary>
    Heun,
}

/// <summary>Options of the multistep DPM-Solver sampler. Defaults are diffusers' <c>DPMSolverMultistepScheduler</c>'s.</summary>
public sealed record DpmSolverOptions
{
    /// <summary>Model calls. 20: DPM-Solver reaches CIFAR-10 FID 2.87 in 20 calls (Lu et al. 2022a); diffusers has no default.</summary>
    public int Steps { get; init; } = 20;

    /// <summary>Solver order 1–3. 2, diffusers' default (recommended for guided sampling; 3 for unconditional, Lu et al. 2022b).</summary>
    public int Order { get; init; } = 2;

    /// <summary>Data (DPM-Solver++) or noise (DPM-Solver) prediction. Default DPM-Solver++, as diffusers.</summary>
    public DpmSolverAlgorithm Algorithm { get; init; } = DpmSolverAlgorithm.DpmSolverPlusPlus;

    /// <summary>The second-order update: midpoint (diffusers' default) or Heun.</summary>
    public DpmSolverType SolverType { get; init; } = DpmSolverType.Midpoint;

    /// <summary>Lower the order in the last steps when there are fewer than 15 (diffusers' <c>lower_order_final</c>, on).</summary>
    public bool LowerOrderFinal { get; init; } = true;

    /// <summary>First order in the very last step whatever the number of steps (diffusers' <c>euler_at_final</c>, off).</summary>
    public bool EulerAtFinal { get; init; }

    /// <summary>Where the last step lands: σ = 0 (diffusers' default) or σ_0. σ = 0 needs the data prediction, as in diffusers.</summary>
    public FinalSigmas FinalSigmas { get; init; } = FinalSigmas.Zero;

    /// <summary>Timestep spacing (diffusers' multistep variant, <see cref="SamplingTimesteps.CreateMultistep"/>); default linspace, as diffusers.</summary>
    public TimestepSpacing Spacing { get; init; } = TimestepSpacing.Linspace;

    /// <summary>Offset added to leading timesteps (diffusers' <c>steps_offset</c>, 0).</summary>
    public int StepsOffset { get; init; }

    /// <summary>Dynamic thresholding of x̂_0; null (off) by default, as diffusers.</summary>
    public DynamicThresholding? Thresholding { get; init; }
}

/// <summary>
/// Multistep DPM-Solver and DPM-Solver++ (Lu et al. 2022a, 2022b), after diffusers' <c>DPMSolverMultistepScheduler</c>: an
/// exponential integrator of the diffusion ODE in λ = log(α/σ) that reuses the model outputs of earlier steps, one model call
/// per step. With h = λ_t − λ_s, first order is x_t = (σ_t/σ_s) x_s − α_t (e^{−h} − 1) x̂_0 (DPM-Solver++), which is DDIM with η = 0.
/// The ODE variants are deterministic; <see cref="DpmSolverAlgorithm.SdeDpmSolverPlusPlus"/> solves the reverse SDE instead:
/// x_t = (σ_t/σ_s) e^{−h} x_s + α_t (1 − e^{−2h}) x̂_0 + σ_t √(1 − e^{−2h}) z, whose first order is DDIM with η = 1 in λ.
/// </summary>
/// <remarks>
/// Where this differs from diffusers: no <c>sde-dpmsolver</c> (noise prediction, deprecated there), Karras/Lu/exponential/beta σ spacings, <c>lambda_min_clipped</c>,
/// learned-variance outputs or custom timestep lists; schedule values are float64; a timestep list with repeats (n close to T)
/// is refused; steps must come in order (see <see cref="MultistepSamplerBase"/>).
/// </remarks>
public sealed class DpmSolverMultistepSampler : MultistepSamplerBase
{
    private readonly DpmSolverOptions options;

    /// <summary>A sampler for models trained on <paramref name="diffusion"/>.</summary>
    public DpmSolverMultistepSampler(GaussianDiffusion diffusion, DpmSolverOptions? options = null)
        : base(diffusion, ChooseTimesteps(diffusion, options ??= new DpmSolverOptions()), options.Order, options.FinalSigmas,
            options.Algorithm != DpmSolverAlgorithm.DpmSolver, options.Thresholding)
    {
        this.options = options;
        if (options.Algorithm == DpmSolverAlgorithm.DpmSolver && options.FinalSigmas == FinalSigmas.Zero)
            throw new ArgumentException("DPM-Solver (noise prediction) cannot end at σ = 0: choose the sigma-min final step or DPM-Solver++.", nameof(options));
    }

    private static int[] ChooseTimesteps(GaussianDiffusion diffusion, DpmSolverOptions options) =>
        SamplingTimesteps.CreateMultistep(options.Spacing, diffusion.Timesteps, options.Steps, options.StepsOffset);

    private bool Stochastic => options.Algorithm == DpmSolverAlgorithm.SdeDpmSolverPlusPlus;

    /// <inheritdoc />
    protected override bool AddsNoiseAt(int i) => Stochastic && Sigma(i + 1) > 0;

    /// <inheritdoc />
    protected override Tensor Advance(Tensor converted, Tensor sample, int i, Tensor? noise)
    {
        var update = Update(converted, sample, i);
        if (noise is null) return update;
        using (update)
        {
            var h = Lambda(i + 1) - Lambda(i);
            return update + noise * (Sigma(i + 1) * Math.Sqrt(-double.ExpM1(-2.0 * h)));
        }
    }

    private Tensor Update(Tensor converted, Tensor sample, int i)
    {
        var n = TimestepArray.Length;
        var lowerOrderFinal = i == n - 1 && (options.EulerAtFinal || (options.LowerOrderFinal && n < 15) || options.FinalSigmas == FinalSigmas.Zero);
        var lowerOrderSecond = i == n - 2 && options.LowerOrderFinal && n < 15;
        Push(converted);
        if (Order == 1 || LowerOrderNums < 1 || lowerOrderFinal) return FirstOrder(sample, i);
        if (Order == 2 || LowerOrderNums < 2 || lowerOrderSecond) return SecondOrder(sample, i);
        return ThirdOrder(sample, i);
    }

    /// <summary>
    /// The linear part (σ_t/σ_s, α_t/α_s, or (σ_t/σ_s) e^{−h} for the SDE) and the coefficient of D0: −α_t(e^{−h} − 1),
    /// −σ_t(e^h − 1), or α_t(1 − e^{−2h}).
    /// </summary>
    private (double Linear, double Phi1, double H) Base(int i)
    {
        var h = Lambda(i + 1) - Lambda(i);
        if (Stochastic) return (Sigma(i + 1) / Sigma(i) * Math.Exp(-h), -Alpha(i + 1) * double.ExpM1(-2.0 * h), h);
        return DataPrediction
            ? (Sigma(i + 1) / Sigma(i), -Alpha(i + 1) * (Math.Exp(-h) - 1.0), h)
            : (Alpha(i + 1) / Alpha(i), -Sigma(i + 1) * (Math.Exp(h) - 1.0), h);
    }

    /// <summary>First order: DPM-Solver++(1) (Lu et al. 2022b) or DPM-Solver-1 (Lu et al. 2022a), both DDIM with η = 0.</summary>
    private Tensor FirstOrder(Tensor x, int i)
    {
        var (linear, phi1, _) = Base(i);
        return x * linear + History(0) * phi1;
    }

    /// <summary>Multistep second order: D1 = (m0 − m1)/r0 with r0 = h_0/h (Lu et al. 2022b, Algorithm 2).</summary>
    private Tensor SecondOrder(Tensor x, int i)
    {
        var (linear, phi1, h) = Base(i);
        var r0 = (Lambda(i) - Lambda(i - 1)) / h;
        using var d1 = (History(0) - History(1)) / r0;
        var c1 = options.SolverType == DpmSolverType.Midpoint ? 0.5 * phi1
            : Stochastic ? Alpha(i + 1) * ((1.0 - Math.Exp(-2.0 * h)) / (-2.0 * h) + 1.0)
            : DataPrediction ? Alpha(i + 1) * ((Math.Exp(-h) - 1.0) / h + 1.0) : -Sigma(i + 1) * ((Math.Exp(h) - 1.0) / h - 1.0);
        return x * linear + History(0) * phi1 + d1 * c1;
    }

    /// <summary>Multistep third order, D2 from the last three outputs (diffusers' <c>multistep_dpm_solver_third_order_update</c>).</summary>
    private Tensor ThirdOrder(Tensor x, int i)
    {
        using var scope = NewDisposeScope();
        var (linear, phi1, h) = Base(i);
        var r0 = (Lambda(i) - Lambda(i - 1)) / h;
        var r1 = (Lambda(i - 1) - Lambda(i - 2)) / h;
        var (m0, m1, m2) = (History(0), History(1), History(2));
        var d10 = (m0 - m1) / r0;
        var d11 = (m1 - m2) / r1;
        var d1 = d10 + (d10 - d11) * (r0 / (r0 + r1));
        var d2 = (d10 - d11) / (r0 + r1);
        double c1, c2;
        if (Stochastic)
        {
            var e = 1.0 - Math.Exp(-2.0 * h);
            c1 = Alpha(i + 1) * (e / (-2.0 * h) + 1.0);
            c2 = Alpha(i + 1) * ((e - 2.0 * h) / (4.0 * h * h) - 0.5);
        }
        else if (DataPrediction)
        {
            var e = Math.Exp(-h) - 1.0;
            c1 = Alpha(i + 1) * (e / h + 1.0);
            c2 = -Alpha(i + 1) * ((e + h) / (h * h) - 0.5);
        }
        else
        {
            var e = Math.Exp(h) - 1.0;
            c1 = -Sigma(i + 1) * (e / h - 1.0);
            c2 = -Sigma(i + 1) * ((e - h) / (h * h) - 0.5);
        }
        return (x * linear + m0 * phi1 + d1 * c1 + d2 * c2).MoveToOuterDisposeScope();
    }
}
