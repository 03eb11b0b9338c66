using System.Text.Json.Serialization;
using Ddpm.Diffusion;

namespace Ddpm.Training;

/// <summary>Arithmetic precision of the model's forward and backward passes.</summary>
public enum Precision
{
    /// <summary>float32 throughout.</summary>
    Fp32,

    /// <summary>bfloat16 compute with float32 master weights, EMA and optimizer state.</summary>
    Bf16,
}

/// <summary>How the learning rate moves after the warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant at the configured rate, as the official code.</summary>
    Constant,

    /// <summary>Cosine decay from the configured rate to 0 at the last step (Loshchilov &amp; Hutter 2017, without restarts).</summary>
    Cosine,
}

/// <summary>
/// The training recipe. Defaults are the paper's CIFAR-10 recipe (Ho et al. 2020, §4 and Appendix B):
/// Adam at 2e-4, 5000 warm-up steps, gradient clipping at 1, EMA 0.9999, batch 128.
/// </summary>
public sealed record TrainingConfig
{
    /// <summary>Optimizer steps to train for. Paper CIFAR-10: 800k.</summary>
    public long Steps { get; init; } = 800_000;

    /// <summary>Images per micro-batch. Paper: 128.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step (effective batch = BatchSize × this).</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Adam learning rate. Paper: 2e-4 (2e-5 for the 256×256 models).</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Steps of linear learning-rate warm-up from 0. Paper (official code): 5000.</summary>
    public long WarmupSteps { get; init; } = 5000;

    /// <summary>The learning rate after the warm-up: constant (the paper) or cosine decay to 0 at <see cref="Steps"/>.</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Constant;

    /// <summary>The objective (Table 2): L_simple (the paper's), the true bound, or the hybrid of both.</summary>
    public LossType Loss { get; init; } = LossType.Simple;

    /// <summary>λ of the hybrid objective L_simple + λ·L_vb. Nichol &amp; Dhariwal: 0.001.</summary>
    public double HybridWeight { get; init; } = TrainingLosses.DefaultHybridWeight;

    /// <summary>
    /// Draw timesteps with probability ∝ √E[L_t²] over each timestep's last 10 losses instead of uniformly, and weight each
    /// loss by 1/(T·p_t) so the objective's expectation is unchanged (Nichol &amp; Dhariwal 2021, Eq. 17; improved-diffusion's
    /// <c>LossSecondMomentResampler</c>): uniform until every timestep has 10 losses, then mixed with 0.1 % of uniform.
    /// Meant for <see cref="LossType.Kl"/>, whose terms differ by orders of magnitude across t.
    /// </summary>
    public bool ImportanceSampling { get; init; }

    /// <summary>Global gradient-norm clip. Official code: 1.0.</summary>
    public double GradientClip { get; init; } = 1.0;

    /// <summary>Decay of the exponential moving average of the weights. Paper: 0.9999 (Appendix B).</summary>
    public double EmaDecay { get; init; } = 0.9999;

    /// <summary>
    /// Warm the EMA up: update n (0-based) uses decay min(<see cref="EmaDecay"/>, (1 + n)/(10 + n)), the <c>num_updates</c> form of
    /// TensorFlow's <c>tf.train.ExponentialMovingAverage</c>, so the average forgets its initialisation within the first steps
    /// instead of after about 1/(1 − decay). On for new runs; off when a saved configuration lacks it (runs from before it existed
    /// resume exactly as they were).
    /// </summary>
    public bool EmaWarmup { get; init; } = true;

    /// <summary>Random horizontal flips; null for the data set's default (on for CIFAR-10 and folders, off for digits and garments).</summary>
    public bool? RandomFlip { get; init; }

    /// <summary>Seed of every random draw in training: weights, data order, flips, timesteps, noise and dropout.</summary>
    public long Seed { get; init; }

    /// <summary>Compute precision; master weights, EMA and optimizer state stay float32.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>Write a grid of EMA samples every this many steps (0: never).</summary>
    public long SampleEvery { get; init; } = 1000;

    /// <summary>Write a checkpoint every this many steps (and always at the end).</summary>
    public long CheckpointEvery { get; init; } = 1000;

    /// <summary>Complete checkpoints kept in the run folder; older ones are deleted.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>Images in each sample grid written during training.</summary>
    public int SampleCount { get; init; } = 64;

    /// <summary>
    /// Model calls of <see cref="Sampling.SamplerSettings.Recommended"/> for the sample grids and evaluations during training:
    /// its measured default (docs/sampling.md), a fiftieth of the full chain.
    /// </summary>
    public int SampleSteps { get; init; } = 20;

    /// <summary>The paper's recipe (with <see cref="EmaWarmup"/> on).</summary>
    public TrainingConfig()
    {
    }

    /// <summary>For JSON: a configuration saved without <c>ema_warmup</c> predates it and keeps the plain EMA.</summary>
    [JsonConstructor]
    private TrainingConfig(bool emaWarmup) => EmaWarmup = emaWarmup;

    /// <summary>The EMA decay of update <paramref name="update"/> (0-based): <see cref="EmaDecay"/>, or its warm-up value (<see cref="EmaWarmup"/>).</summary>
    public double EmaDecayAt(long update) =>
        EmaWarmup ? Math.Min(EmaDecay, (1.0 + update) / (10.0 + update)) : EmaDecay;

    /// <summary>
    /// Training defaults of a model preset. <c>small</c> keeps the paper's optimiser but shortens two horizons because its
    /// runs last about 10⁴ steps on a CPU, not 8·10⁵: warm-up 1000 steps, and EMA decay 0.999 (an average over about
    /// 1000 steps; 0.9999 would still carry a third of the initial weights after 10⁴ steps).
    /// </summary>
    public static TrainingConfig ForPreset(string preset) => preset.ToLowerInvariant() switch
    {
        "small" => new TrainingConfig { Steps = 10_000, WarmupSteps = 1000, EmaDecay = 0.999 },
        _ => new TrainingConfig(),
    };

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when invalid.</summary>
    public TrainingConfig Validate()
    {
        if (Steps < 0) throw new ArgumentException($"steps must not be negative (got {Steps}).");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1 (got {BatchSize}).");
        if (GradientAccumulation < 1) throw new ArgumentException($"gradient accumulation must be at least 1 (got {GradientAccumulation}).");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"learning rate must be positive (got {LearningRate}).");
        if (WarmupSteps < 0) throw new ArgumentException($"warm-up steps must not be negative (got {WarmupSteps}).");
        if (!(GradientClip > 0)) throw new ArgumentException($"gradient clip must be positive (got {GradientClip}).");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentException($"EMA decay must lie in [0, 1) (got {EmaDecay}).");
        if (SampleEvery < 0 || CheckpointEvery < 0) throw new ArgumentException("sample-every and checkpoint-every must not be negative.");
        if (KeepCheckpoints < 1) throw new ArgumentException($"keep-checkpoints must be at least 1 (got {KeepCheckpoints}).");
        if (SampleCount < 1 || SampleSteps < 1) throw new ArgumentException("sample count and sample steps must be positive.");
        if (!Enum.IsDefined(Loss)) throw new ArgumentException($"Unknown loss {Loss}.");
        if (!Enum.IsDefined(LearningRateSchedule)) throw new ArgumentException($"Unknown learning-rate schedule {LearningRateSchedule}.");
        if (!(HybridWeight > 0) || double.IsInfinity(HybridWeight)) throw new ArgumentException($"the hybrid weight must be positive (got {HybridWeight}).");
        return this;
    }

    /// <summary>
    /// Learning rate at optimizer step <paramref name="step"/> (0-based): linear warm-up to <see cref="LearningRate"/>, then
    /// constant, as the official code, or (<see cref="LearningRateSchedule.Cosine"/>) lr·½(1 + cos(π·p)) with p the fraction
    /// of the steps after the warm-up done, reaching 0 at step <see cref="Steps"/>.
    /// </summary>
    public double LearningRateAt(long step)
    {
        if (step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        if (LearningRateSchedule == LearningRateSchedule.Constant || Steps <= WarmupSteps) return LearningRate;
        var progress = Math.Clamp((double)(step + 1 - WarmupSteps) / (Steps - WarmupSteps), 0.0, 1.0);
        return LearningRate * 0.5 * (1.0 + Math.Cos(Math.PI * progress));
    }
}
