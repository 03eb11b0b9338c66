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

    /// <summary>x̂_0 from the model's output, whatever it predicts.</summary>
    public Tensor PredictStart(Tensor modelOutput, Tensor xt, Tensor t) => MeanType switch
    {
        ModelMeanType.Epsilon => PredictStartFromNoise(xt, t, modelOutput),
        ModelMeanType.StartX => modelOutput.alias(),
        ModelMeanType.Velocity => PredictStartFromVelocity(xt, t, modelOutput),
        _ => throw new InvalidOperationException($"Unknown mean type {MeanType}."),
    };

    /// <summary>
    /// p_θ(x_{t−1} | x_t) = N(μ_θ, σ_t² I): x̂_0 from the model output (clipped to [−1, 1] when <paramref name="clipDenoised"/>),
    /// μ_θ = μ̃_t(x_t, x̂_0) (Eq. 7, which for ε-prediction equals Eq. 11), σ_t² fixed-small or fixed-large.
    /// </summary>
    public ReverseStepParameters PMeanVariance(Tensor modelOutput, Tensor xt, Tensor t, bool clipDenoised = true) =>
        PMeanVariance(modelOutput, xt, t, clipDenoised ? DenoisedHandling.Clip : DenoisedHandling.None);

    /// <summary>
    /// p_θ(x_{t−1} | x_t) as <see cref="PMeanVariance(Tensor, Tensor, Tensor, bool)"/>, with x̂_0 processed by <paramref name="handling"/>
    /// before it enters the posterior mean.
    /// </summary>
    public ReverseStepParameters PMeanVariance(Tensor modelOutput, Tensor xt, Tensor t, DenoisedHandling handling)
    {
        TensorChecks.SameShape(xt, modelOutput, nameof(modelOutput));
        using var predicted = PredictStart(modelOutput, xt, t);
        var x0 = handling.Apply(predicted);
        var posterior = QPosteriorMeanVariance(x0, xt, t);
        var s = Schedule.Tensors;
        var (variance, logVariance) = VarianceType switch
        {
            ModelVarianceType.FixedSmall => (posterior.Variance, posterior.LogVariance),
            ModelVarianceType.FixedLarge => (Extract(s.LargeVariance, t, xt), Extract(s.LargeLogVariance, t, xt)),
            _ => throw new InvalidOperationException($"Unknown variance type {VarianceType}."),
        };
        return new ReverseStepParameters(posterior.Mean, variance, logVariance, x0);
    }

    /// <summary>The regression target for the model at (x_0, t, ε): ε, x_0 or v according to <see cref="MeanType"/>.</summary>
    public Tensor TrainingTarget(Tensor x0, Tensor t, Tensor noise) => MeanType switch
    {
        ModelMeanType.Epsilon => noise.alias(),
        ModelMeanType.StartX => x0.alias(),
        ModelMeanType.Velocity => Velocity(x0, t, noise),
        _ => throw new InvalidOperationException($"Unknown mean type {MeanType}."),
    };

    /// <summary>
    /// L_simple of Eq. (14) per example: the mean over pixels of ‖target − model(x_t, t)‖², with x_t = q_sample(x_0, t, ε).
    /// Returns a [B] tensor; average it for the loss of Algorithm 1.
    /// </summary>
    public Tensor LossSimple(Func<Tensor, Tensor, Tensor> model, Tensor x0, Tensor t, Tensor noise)
    {
        using var scope = NewDisposeScope();
        var xt = QSample(x0, t, noise);
        var output = model(xt, t);
        xt.Dispose();
        TensorChecks.SameShape(x0, output, "model output");
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
