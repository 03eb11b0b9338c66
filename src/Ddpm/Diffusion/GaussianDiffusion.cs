using System.Runtime.CompilerServices;
using Ddpm.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>
/// The forward process q and the Gaussian reverse process p_θ of Ho et al. 2020, in the paper's names.
/// Timesteps <c>t</c> are int64 tensors of shape [B] with 0-based indices (the paper's t = index + 1).
/// The class holds only math: it never trains, loads data or writes files.
/// </summary>
public sealed class GaussianDiffusion : IDisposable
{
    /// <summary>Creates the process for a configuration.</summary>
    public GaussianDiffusion(DiffusionConfig config)
        : this(NoiseSchedule.Create(config.Validate().Schedule), config.MeanType, config.VarianceType)
    {
        Config = config;
    }

    /// <summary>Creates the process over an explicit schedule (used for respaced chains).</summary>
    public GaussianDiffusion(NoiseSchedule schedule, ModelMeanType meanType, ModelVarianceType varianceType)
    {
        Schedule = schedule;
        MeanType = meanType;
        VarianceType = varianceType;
        Config = new DiffusionConfig { MeanType = meanType, VarianceType = varianceType, Schedule = new ScheduleConfig { Timesteps = schedule.Timesteps } };
    }

    /// <summary>The configuration this process was made from.</summary>
    public DiffusionConfig Config { get; }

    /// <summary>The schedule constants.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>What the model predicts.</summary>
    public ModelMeanType MeanType { get; }

    /// <summary>How σ_t² is chosen.</summary>
    public ModelVarianceType VarianceType { get; }

    /// <summary>Length T of the chain.</summary>
    public int Timesteps => Schedule.Timesteps;

    /// <summary>q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I), Eq. (4).</summary>
    public GaussianParameters QMeanVariance(Tensor x0, Tensor t)
    {
        var s = Schedule.Tensors;
        var mean = Extract(s.SqrtAlphasCumprod, t, x0) * x0;
        var variance = Extract(OneMinus(s.AlphasCumprod), t, x0);
        return new GaussianParameters(mean, variance, variance.log());
    }

    /// <summary>Draws x_t ~ q(x_t | x_0) as √ᾱ_t x_0 + √(1 − ᾱ_t) ε, Eq. (4) reparameterised (§3.2).</summary>
    public Tensor QSample(Tensor x0, Tensor t, Tensor noise)
    {
        TensorChecks.SameShape(x0, noise, nameof(noise));
        var s = Schedule.Tensors;
        return Extract(s.SqrtAlphasCumprod, t, x0) * x0 + Extract(s.SqrtOneMinusAlphasCumprod, t, x0) * noise;
    }

    /// <summary>The forward-process posterior q(x_{t−1} | x_t, x_0) = N(μ̃_t, β̃_t I), Eqs. (6)–(7).</summary>
    public GaussianParameters QPosteriorMeanVariance(Tensor x0, Tensor xt, Tensor t)
    {
        TensorChecks.SameShape(x0, xt, nameof(xt));
        var s = Schedule.Tensors;
        var mean = Extract(s.PosteriorMeanCoef1, t, xt) * x0 + Extract(s.PosteriorMeanCoef2, t, xt) * xt;
        return new GaussianParameters(mean, Extract(s.PosteriorVariance, t, xt), Extract(s.PosteriorLogVarianceClipped, t, xt));
    }

    /// <summary>x̂_0 = (x_t − √(1 − ᾱ_t) ε)/√ᾱ_t, Eq. (4) solved for x_0 (§3.2, Eq. 15).</summary>
    public Tensor PredictStartFromNoise(Tensor xt, Tensor t, Tensor eps)
    {
        var s = Schedule.Tensors;
        return Extract(s.SqrtRecipAlphasCumprod, t, xt) * xt - Extract(s.SqrtRecipM1AlphasCumprod, t, xt) * eps;
    }

    /// <summary>ε = (x_t/√ᾱ_t − x_0)/√(1/ᾱ_t − 1), the noise implied by x_t and x_0.</summary>
    public Tensor PredictNoiseFromStart(Tensor xt, Tensor t, Tensor x0)
    {
        var s = Schedule.Tensors;
        return (Extract(s.SqrtRecipAlphasCumprod, t, xt) * xt - x0) / Extract(s.SqrtRecipM1AlphasCumprod, t, xt);
    }

    /// <summary>x̂_0 = √ᾱ_t x_t − √(1 − ᾱ_t) v (Salimans &amp; Ho 2022, §4).</summary>
    public Tensor PredictStartFromVelocity(Tensor xt, Tensor t, Tensor v)
    {
        var s = Schedule.Tensors;
        return Extract(s.SqrtAlphasCumprod, t, xt) * xt - Extract(s.SqrtOneMinusAlphasCumprod, t, xt) * v;
    }

    /// <summary>v = √ᾱ_t ε − √(1 − ᾱ_t) x_0, the velocity target (Salimans &amp; Ho 2022, §4).</summary>
    public Tensor Velocity(Tensor x0, Tensor t, Tensor noise)
    {
        var s = Schedule.Tensors;
        return Extract(s.SqrtAlphasCumprod, t, x0) * noise - Extract(s.SqrtOneMinusAlphasCumprod, t, x0) * x0;
    }

    /// <summary>Whether the network outputs the variance too (twice the image's channels; see <see cref="ModelVarianceType.Learned"/>).</summary>
    public bool LearnsVariance => VarianceType.IsLearned();

    /// <summary>
    /// The channels of a model output that predict the mean (ε, x_0, v or μ̃): all of them, or the first half when the
    /// variance is learned. Throws <see cref="ArgumentException"/> when the output does not fit x_t.
    /// </summary>
    public Tensor MeanOutput(Tensor modelOutput, Tensor xt)
    {
        CheckOutput(modelOutput, xt);
        return LearnsVariance ? modelOutput.narrow(1, 0, xt.shape[1]) : modelOutput.alias();
    }

    /// <summary>The channels of a model output that give the variance (the second half); only for a learned variance.</summary>
    public Tensor VarianceOutput(Tensor modelOutput, Tensor xt)
    {
        if (!LearnsVariance) throw new InvalidOperationException($"A model with {VarianceType} variance does not output a variance.");
        CheckOutput(modelOutput, xt);
        return modelOutput.narrow(1, xt.shape[1], xt.shape[1]);
    }

    private void CheckOutput(Tensor modelOutput, Tensor xt)
    {
        ArgumentNullException.ThrowIfNull(modelOutput);
        if (!LearnsVariance)
        {
            TensorChecks.SameShape(xt, modelOutput, nameof(modelOutput));
            return;
        }
        var expected = xt.shape.ToArray();
        if (expected.Length > 1) expected[1] *= 2;
        if (!modelOutput.shape.SequenceEqual(expected))
        {
            throw new ArgumentException(
                $"The model output has shape [{string.Join(", ", modelOutput.shape)}]; a model with a learned variance must output [{string.Join(", ", expected)}] (twice the image's channels).",
                nameof(modelOutput));
        }
    }

    /// <summary>x̂_0 = (μ − coef2·x_t)/coef1 from a predicted posterior mean μ = μ̃_t(x_t, x̂_0) (Eq. 7 solved for x_0).</summary>
    public Tensor PredictStartFromPrevious(Tensor xt, Tensor t, Tensor previousMean)
    {
        var s = Schedule.Tensors;
        return (previousMean - Extract(s.PosteriorMeanCoef2, t, xt) * xt) / Extract(s.PosteriorMeanCoef1, t, xt);
    }

    /// <summary>x̂_0 from the model's output, whatever it predicts (the mean channels of a model with a learned variance).</summary>
    public Tensor PredictStart(Tensor modelOutput, Tensor xt, Tensor t)
    {
        using var output = MeanOutput(modelOutput, xt);
        return MeanType switch
        {
            ModelMeanType.Epsilon => PredictStartFromNoise(xt, t, output),
            ModelMeanType.StartX => output.alias(),
            ModelMeanType.Velocity => PredictStartFromVelocity(xt, t, output),
            ModelMeanType.PreviousX => PredictStartFromPrevious(xt, t, output),
            _ => throw new InvalidOperationException($"Unknown mean type {MeanType}."),
        };
    }

    /// <summary>
    /// p_θ(x_{t−1} | x_t) = N(μ_θ, σ_t² I): x̂_0 from the model output (clipped to [−1, 1] when <paramref name="clipDenoised"/>),
    /// μ_θ = μ̃_t(x_t, x̂_0) (Eq. 7, which for ε-prediction equals Eq. 11), σ_t² fixed-small or fixed-large.
    /// </summary>
    public ReverseStepParameters PMeanVariance(Tensor modelOutput, Tensor xt, Tensor t, bool clipDenoised = true) =>
        PMeanVariance(modelOutput, xt, t, clipDenoised ? DenoisedHandling.Clip : DenoisedHandling.None);

    /// <summary>
    /// p_θ(x_{t−1} | x_t) as <see cref="PMeanVariance(Tensor, Tensor, Tensor, bool)"/>, with x̂_0 processed by <paramref name="handling"/>
    /// before it enters the posterior mean. A μ̃-predicting model's mean is its output itself (x̂_0 is processed for the
    /// report only), as the official code's <c>xprev</c>; a learned variance comes from the output's second half.
    /// </summary>
    public ReverseStepParameters PMeanVariance(Tensor modelOutput, Tensor xt, Tensor t, DenoisedHandling handling)
    {
        using var predicted = PredictStart(modelOutput, xt, t);
        var x0 = handling.Apply(predicted);
        var posterior = QPosteriorMeanVariance(x0, xt, t);
        var mean = MeanType == ModelMeanType.PreviousX ? MeanOutput(modelOutput, xt) : posterior.Mean;
        var s = Schedule.Tensors;
        Tensor variance, logVariance;
        switch (VarianceType)
        {
            case ModelVarianceType.FixedSmall:
                (variance, logVariance) = (posterior.Variance, posterior.LogVariance);
                break;
            case ModelVarianceType.FixedLarge:
                (variance, logVariance) = (Extract(s.LargeVariance, t, xt), Extract(s.LargeLogVariance, t, xt));
                break;
            case ModelVarianceType.Learned:
                using (var v = VarianceOutput(modelOutput, xt)) logVariance = v.alias();
                variance = logVariance.exp();
                break;
            case ModelVarianceType.LearnedRange:
                using (var v = VarianceOutput(modelOutput, xt))
                {
                    var fraction = (v + 1.0) * 0.5;
                    logVariance = fraction * Extract(s.LogBetas, t, xt) + (1.0 - fraction) * Extract(s.PosteriorLogVarianceClipped, t, xt);
                }
                variance = logVariance.exp();
                break;
            default:
                throw new InvalidOperationException($"Unknown variance type {VarianceType}.");
        }
        return new ReverseStepParameters(mean, variance, logVariance, x0);
    }

    /// <summary>
    /// The regression target for the model at (x_0, t, ε): ε, x_0, v, or the posterior mean μ̃_t(x_t, x_0) with
    /// x_t = q_sample(x_0, t, ε), according to <see cref="MeanType"/>.
    /// </summary>
    public Tensor TrainingTarget(Tensor x0, Tensor t, Tensor noise)
    {
        switch (MeanType)
        {
            case ModelMeanType.Epsilon: return noise.alias();
            case ModelMeanType.StartX: return x0.alias();
            case ModelMeanType.Velocity: return Velocity(x0, t, noise);
            case ModelMeanType.PreviousX:
                using (var scope = NewDisposeScope())
                {
                    var xt = QSample(x0, t, noise);
                    return QPosteriorMeanVariance(x0, xt, t).Mean.MoveToOuterDisposeScope();
                }
            default: throw new InvalidOperationException($"Unknown mean type {MeanType}.");
        }
    }

    /// <summary>
    /// The training objective per example at (x_0, t, ε), with x_t = q_sample(x_0, t, ε) (Ho et al. 2020, §3.4 and Table 2;
    /// Nichol &amp; Dhariwal 2021 for the hybrid):
    /// <list type="bullet">
    /// <item><see cref="LossType.Simple"/>: the mean over pixels of ‖target − output‖² (Eq. 14 for ε; the unweighted ‖μ̃ − μ̃_θ‖² for μ̃).</item>
    /// <item><see cref="LossType.Kl"/>: the bound's term L_{t−1} at t (L_0, the decoder's NLL, at index 0) in bits/dim, with
    /// x̂_0 unclipped and every part differentiable, as the official <c>kl</c> loss: its mean over t is L/T.</item>
    /// <item><see cref="LossType.Hybrid"/>: L_simple + λ·T·L_{t−1}, where the term sees the mean through a stopped gradient
    /// so that it trains only the variance (Nichol &amp; Dhariwal's L_hybrid = L_simple + λ L_vb; with λ = 0.001 and T = 1000
    /// this is improved-diffusion's <c>mse + vb</c>).</item>
    /// </list>
    /// Returns [B] tensors: the loss, and its parts that apply.
    /// </summary>
    public TrainingLosses Losses(Func<Tensor, Tensor, Tensor> model, Tensor x0, Tensor t, Tensor noise, LossType loss, double hybridWeight = TrainingLosses.DefaultHybridWeight)
    {
        using var scope = NewDisposeScope();
        var xt = QSample(x0, t, noise);
        var output = model(xt, t).to(ScalarType.Float32);
        Tensor? mse = null, vb = null;
        if (loss is LossType.Simple or LossType.Hybrid)
        {
            var target = TrainingTarget(x0, t, noise);
            mse = (MeanOutput(output, xt) - target).square().flatten(1).mean([1]);
        }
        if (loss is LossType.Kl or LossType.Hybrid)
        {
            var bound = new VariationalBound(this);
            var vbOutput = loss == LossType.Kl ? output : cat([MeanOutput(output, xt).detach(), VarianceOutput(output, xt)], 1);
            var p = PMeanVariance(vbOutput, xt, t, DenoisedHandling.None);
            vb = bound.TermBits(x0, xt, t, p.Mean, p.LogVariance).to(ScalarType.Float32);
        }
        var total = loss switch
        {
            LossType.Simple => mse!,
            LossType.Kl => vb!,
            LossType.Hybrid => mse! + vb! * (hybridWeight * Timesteps),
            _ => throw new InvalidOperationException($"Unknown loss type {loss}."),
        };
        // The total may be one of its parts: move each tensor once (a second move would take it out of the caller's scope).
        foreach (var kept in new[] { total, mse, vb }.OfType<Tensor>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>())
            kept.MoveToOuterDisposeScope();
        return new TrainingLosses(total, mse, vb);
    }

    /// <summary>
    /// L_simple of Eq. (14) per example: the mean over pixels of ‖target − model(x_t, t)‖², with x_t = q_sample(x_0, t, ε).
    /// Returns a [B] tensor; average it for the loss of Algorithm 1.
    /// </summary>
    public Tensor LossSimple(Func<Tensor, Tensor, Tensor> model, Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var xt = QSample(x0, t, noise);
        var output = MeanOutput(model(xt, t), xt);
        xt.Dispose();
        var target = TrainingTarget(x0, t, noise);
        var diff = output.to(ScalarType.Float32) - target;
        var loss = diff.square().flatten(1).mean([1]);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Uniform timesteps t ~ U{0..T−1} of Algorithm 1, drawn from <paramref name="generator"/>.</summary>
    public Tensor SampleTimesteps(int batch, Generator generator) =>
        randint(0, Timesteps, [batch], dtype: ScalarType.Int64, generator: generator);

    /// <summary>A [B] int64 tensor holding one timestep for every sample of a batch.</summary>
    public static Tensor TimestepTensor(int timestep, long batch) => full([batch], timestep, dtype: ScalarType.Int64);

    /// <summary>Picks values[t] for each batch element and shapes them [B, 1, 1, …] to broadcast over <paramref name="like"/>.</summary>
    public static Tensor Extract(Tensor values, Tensor t, Tensor like)
    {
        if (t.dtype != ScalarType.Int64) throw new ArgumentException($"Timesteps must be int64 (got {t.dtype}).", nameof(t));
        // The schedule lives on the CPU; on another device the values are picked from a copy kept on the timesteps'
        // device, so no index goes back to the host (a synchronisation per call on a GPU) and nothing is created on the CPU.
        var source = t.device_type == values.device_type && t.device_index == values.device_index ? values : CopyOn(values, t.device);
        using var index = t.flatten();
        var picked = source[index];
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = t.numel() == 1 ? 1 : like.shape[0];
        if (t.numel() != 1 && t.numel() != like.shape[0])
            throw new ArgumentException($"Got {t.numel()} timesteps for a batch of {like.shape[0]}.", nameof(t));
        var result = picked.view(shape);
        if (like.device_type != result.device_type || like.device_index != result.device_index) result = result.to(like.device);
        return like.dtype == ScalarType.Float32 ? result : result.to(like.dtype);
    }

    private static readonly ConditionalWeakTable<Tensor, Dictionary<string, Tensor>> DeviceCopies = new();

    /// <summary>A copy of the schedule tensor <paramref name="values"/> on <paramref name="device"/>, made once and kept while it lives.</summary>
    private static Tensor CopyOn(Tensor values, Device device)
    {
        var copies = DeviceCopies.GetOrCreateValue(values);
        lock (copies)
        {
            var key = device.ToString();
            if (copies.TryGetValue(key, out var copy) && !copy.IsInvalid) return copy;
            using (no_grad())
            {
                copy = values.to(device, copy: true).DetachFromDisposeScope();
            }
            copies[key] = copy;
            return copy;
        }
    }

    private static Tensor OneMinus(Tensor x) => 1.0 - x;

    /// <inheritdoc />
    public void Dispose() => Schedule.Dispose();
}
