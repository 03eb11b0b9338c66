using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Schedules;

/// <summary>
/// Every constant of the forward process derived from β_1..β_T, computed once in float64.
/// Index i holds the value for the paper's t = i + 1 (timesteps are 0-based throughout Ddpm).
/// Float32 copies for tensor code are made on first use by <see cref="Tensors"/>.
/// </summary>
public sealed class NoiseSchedule : IDisposable
{
    private ScheduleTensors? tensors;

    private NoiseSchedule(double[] betas)
    {
        var n = betas.Length;
        if (n < 1) throw new ArgumentException("A schedule needs at least one timestep.", nameof(betas));
        foreach (var b in betas)
        {
            if (!(b > 0 && b <= 1)) throw new ArgumentException($"Every beta must lie in (0, 1] (got {b}).", nameof(betas));
        }

        Betas = betas;
        Alphas = new double[n];
        AlphasCumprod = new double[n];
        AlphasCumprodPrev = new double[n];
        SqrtAlphasCumprod = new double[n];
        SqrtOneMinusAlphasCumprod = new double[n];
        LogOneMinusAlphasCumprod = new double[n];
        SqrtRecipAlphasCumprod = new double[n];
        SqrtRecipM1AlphasCumprod = new double[n];
        PosteriorVariance = new double[n];
        PosteriorLogVarianceClipped = new double[n];
        PosteriorMeanCoef1 = new double[n];
        PosteriorMeanCoef2 = new double[n];

        var cumprod = 1.0;
        for (var i = 0; i < n; i++)
        {
            Alphas[i] = 1.0 - betas[i];
            AlphasCumprodPrev[i] = cumprod;
            cumprod *= Alphas[i];
            AlphasCumprod[i] = cumprod;
            SqrtAlphasCumprod[i] = Math.Sqrt(cumprod);
            SqrtOneMinusAlphasCumprod[i] = Math.Sqrt(1.0 - cumprod);
            LogOneMinusAlphasCumprod[i] = Math.Log(1.0 - cumprod);
            SqrtRecipAlphasCumprod[i] = Math.Sqrt(1.0 / cumprod);
            SqrtRecipM1AlphasCumprod[i] = Math.Sqrt(1.0 / cumprod - 1.0);
            // Eq. (7): β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, and the posterior mean's two coefficients.
            PosteriorVariance[i] = betas[i] * (1.0 - AlphasCumprodPrev[i]) / (1.0 - cumprod);
            PosteriorMeanCoef1[i] = betas[i] * Math.Sqrt(AlphasCumprodPrev[i]) / (1.0 - cumprod);
            PosteriorMeanCoef2[i] = (1.0 - AlphasCumprodPrev[i]) * Math.Sqrt(Alphas[i]) / (1.0 - cumprod);
        }

        // β̃ at index 0 is 0, so its log is clipped to index 1's value, as the official code does.
        for (var i = 0; i < n; i++)
        {
            var v = i == 0 ? (n > 1 ? PosteriorVariance[1] : betas[0]) : PosteriorVariance[i];
            PosteriorLogVarianceClipped[i] = Math.Log(v);
        }
    }

    /// <summary>Length T of the chain.</summary>
    public int Timesteps => Betas.Length;

    /// <summary>β_t.</summary>
    public double[] Betas { get; }

    /// <summary>α_t = 1 − β_t.</summary>
    public double[] Alphas { get; }

    /// <summary>ᾱ_t = Π_{s ≤ t} α_s.</summary>
    public double[] AlphasCumprod { get; }

    /// <summary>ᾱ_{t−1}, with ᾱ before the first step taken as 1.</summary>
    public double[] AlphasCumprodPrev { get; }

    /// <summary>√ᾱ_t.</summary>
    public double[] SqrtAlphasCumprod { get; }

    /// <summary>√(1 − ᾱ_t).</summary>
    public double[] SqrtOneMinusAlphasCumprod { get; }

    /// <summary>log(1 − ᾱ_t).</summary>
    public double[] LogOneMinusAlphasCumprod { get; }

    /// <summary>1/√ᾱ_t.</summary>
    public double[] SqrtRecipAlphasCumprod { get; }

    /// <summary>√(1/ᾱ_t − 1).</summary>
    public double[] SqrtRecipM1AlphasCumprod { get; }

    /// <summary>β̃_t of Eq. (7); zero at index 0.</summary>
    public double[] PosteriorVariance { get; }

    /// <summary>log β̃_t with index 0 taking index 1's value (β̃_0 = 0).</summary>
    public double[] PosteriorLogVarianceClipped { get; }

    /// <summary>Coefficient of x_0 in μ̃_t (Eq. 7): β_t √ᾱ_{t−1} / (1 − ᾱ_t).</summary>
    public double[] PosteriorMeanCoef1 { get; }

    /// <summary>Coefficient of x_t in μ̃_t (Eq. 7): √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).</summary>
    public double[] PosteriorMeanCoef2 { get; }

    /// <summary>The float32 tensor copies of the arrays above, created on first use and kept for the schedule's life.</summary>
    public ScheduleTensors Tensors => tensors ??= new ScheduleTensors(this);

    /// <summary>A schedule from a configuration.</summary>
    public static NoiseSchedule Create(ScheduleConfig config)
    {
        config.Validate();
        return new NoiseSchedule(BetaSchedules.Create(config.Kind, config.Timesteps, config.BetaStart, config.BetaEnd));
    }

    /// <summary>A schedule from explicit β values.</summary>
    public static NoiseSchedule FromBetas(IReadOnlyList<double> betas) => new([.. betas]);

    /// <summary>
    /// The shorter chain that visits only <paramref name="timesteps"/> (ascending or descending, distinct, within 0..T−1),
    /// with β_i = 1 − ᾱ_{t_i}/ᾱ_{t_{i−1}} so that ᾱ is unchanged at the kept steps (Nichol &amp; Dhariwal 2021, §4).
    /// </summary>
    public NoiseSchedule Respace(IEnumerable<int> timesteps)
    {
        var kept = timesteps.Distinct().OrderBy(t => t).ToArray();
        if (kept.Length == 0) throw new ArgumentException("Respacing needs at least one timestep.", nameof(timesteps));
        if (kept[0] < 0 || kept[^1] >= Timesteps)
            throw new ArgumentOutOfRangeException(nameof(timesteps), $"Timesteps must lie in 0..{Timesteps - 1}.");
        var betas = new double[kept.Length];
        var last = 1.0;
        for (var i = 0; i < kept.Length; i++)
        {
            var ab = AlphasCumprod[kept[i]];
            betas[i] = 1.0 - ab / last;
            last = ab;
        }
        return new NoiseSchedule(betas);
    }

    /// <inheritdoc />
    public void Dispose() => tensors?.Dispose();
}

/// <summary>Float32 tensors of a <see cref="NoiseSchedule"/>'s constants, one element per timestep, outside any dispose scope.</summary>
public sealed class ScheduleTensors : IDisposable
{
    internal ScheduleTensors(NoiseSchedule s)
    {
        Betas = Make(s.Betas);
        AlphasCumprod = Make(s.AlphasCumprod);
        SqrtAlphasCumprod = Make(s.SqrtAlphasCumprod);
        SqrtOneMinusAlphasCumprod = Make(s.SqrtOneMinusAlphasCumprod);
        SqrtRecipAlphasCumprod = Make(s.SqrtRecipAlphasCumprod);
        SqrtRecipM1AlphasCumprod = Make(s.SqrtRecipM1AlphasCumprod);
        PosteriorVariance = Make(s.PosteriorVariance);
        PosteriorLogVarianceClipped = Make(s.PosteriorLogVarianceClipped);
        PosteriorMeanCoef1 = Make(s.PosteriorMeanCoef1);
        PosteriorMeanCoef2 = Make(s.PosteriorMeanCoef2);
        var n = s.Timesteps;
        // Fixed-large variance: β_t, except at index 0 where β̃ at index 1 is used, as the official code.
        var large = new double[n];
        for (var i = 0; i < n; i++) large[i] = i == 0 && n > 1 ? s.PosteriorVariance[1] : s.Betas[i];
        LargeVariance = Make(large);
        LargeLogVariance = Make(large.Select(v => Math.Log(v)).ToArray());
        LogBetas = Make(s.Betas.Select(b => Math.Log(b)).ToArray());
    }

    /// <summary>log β_t, the upper end of a learned-range variance (Nichol &amp; Dhariwal 2021, Eq. 15).</summary>
    public Tensor LogBetas { get; }

    /// <summary>β_t, the variances of the forward process q(x_t | x_{t−1}) (eq. 2).</summary>
    public Tensor Betas { get; }
    /// <summary>ᾱ_t = ∏_{s≤t} (1 − β_s) (eq. 4).</summary>
    public Tensor AlphasCumprod { get; }
    /// <summary>√ᾱ_t, the scale of x_0 in q(x_t | x_0) (eq. 4).</summary>
    public Tensor SqrtAlphasCumprod { get; }
    /// <summary>√(1 − ᾱ_t), the scale of the noise in q(x_t | x_0) (eq. 4).</summary>
    public Tensor SqrtOneMinusAlphasCumprod { get; }
    /// <summary>1/√ᾱ_t, for predicting x_0 from x_t and ε (eq. 15).</summary>
    public Tensor SqrtRecipAlphasCumprod { get; }
    /// <summary>√(1/ᾱ_t − 1), for predicting x_0 from x_t and ε (eq. 15).</summary>
    public Tensor SqrtRecipM1AlphasCumprod { get; }
    /// <summary>β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) β_t, the variance of the posterior q(x_{t−1} | x_t, x_0) (eq. 7).</summary>
    public Tensor PosteriorVariance { get; }
    /// <summary>log β̃_t, with index 0 taking β̃ at index 1 (β̃_0 = 0), as the official code.</summary>
    public Tensor PosteriorLogVarianceClipped { get; }
    /// <summary>The coefficient of x_0 in the posterior mean μ̃_t: √ᾱ_{t−1} β_t / (1 − ᾱ_t) (eq. 7).</summary>
    public Tensor PosteriorMeanCoef1 { get; }
    /// <summary>The coefficient of x_t in the posterior mean μ̃_t: √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t) (eq. 7).</summary>
    public Tensor PosteriorMeanCoef2 { get; }

    /// <summary>σ_t² = β_t (fixed-large), with index 0 taking β̃ at index 1.</summary>
    public Tensor LargeVariance { get; }

    /// <summary>log of <see cref="LargeVariance"/>.</summary>
    public Tensor LargeLogVariance { get; }

    private static Tensor Make(double[] values)
    {
        using var noGrad = no_grad();
        return tensor(values, dtype: ScalarType.Float64).to(ScalarType.Float32).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in new[] { Betas, AlphasCumprod, SqrtAlphasCumprod, SqrtOneMinusAlphasCumprod, SqrtRecipAlphasCumprod,
                     SqrtRecipM1AlphasCumprod, PosteriorVariance, PosteriorLogVarianceClipped, PosteriorMeanCoef1, PosteriorMeanCoef2,
                     LargeVariance, LargeLogVariance, LogBetas })
        {
            t.Dispose();
        }
    }
}
