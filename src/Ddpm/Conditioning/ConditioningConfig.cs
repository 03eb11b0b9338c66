using Ddpm.Models;

namespace Ddpm.Conditioning;

/// <summary>What a model is trained to do.</summary>
public enum ConditioningTask
{
    /// <summary>Generate images from noise (the paper's), unconditionally or given a class.</summary>
    Generation,

    /// <summary>SR3 super-resolution: generate a high-resolution image given its bicubically upsampled low-resolution version.</summary>
    SuperResolution,
}

/// <summary>How a run is conditioned, saved in its <c>config.json</c> (the network's side is <see cref="UNetConfig.NumClasses"/> and <see cref="UNetConfig.ConditionChannels"/>).</summary>
public sealed record ConditioningConfig
{
    /// <summary>The task (default: generation).</summary>
    public ConditioningTask Task { get; init; } = ConditioningTask.Generation;

    /// <summary>Names of the classes of a class-conditional model, index = label; empty when unconditional.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>
    /// Probability that a training image's label is replaced by the null class, so one network learns the conditional and
    /// the unconditional model that classifier-free guidance combines. 0.1 (Ho &amp; Salimans 2021 found 0.1–0.2 best).
    /// </summary>
    public double LabelDropout { get; init; } = 0.1;

    /// <summary>Reduction factor of super-resolution (2 or 4); 1 otherwise.</summary>
    public int Scale { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the conditioning does not fit <paramref name="model"/>.</summary>
    public ConditioningConfig Validate(UNetConfig model)
    {
        if (!(LabelDropout >= 0 && LabelDropout < 1)) throw new ArgumentException($"the label dropout must lie in [0, 1) (got {LabelDropout}).");
        if (model.NumClasses != ClassNames.Count)
            throw new ArgumentException($"the model has {model.NumClasses} classes but the configuration names {ClassNames.Count}.");
        if (Task == ConditioningTask.SuperResolution)
        {
            if (!SuperResolution.Scales.Contains(Scale))
                throw new ArgumentException($"super-resolution scales by {string.Join(" or ", SuperResolution.Scales)} (got {Scale}).");
            if (model.ConditionChannels != model.InChannels)
                throw new ArgumentException($"a super-resolution model takes its {model.InChannels}-channel low-resolution image as input channels (it has {model.ConditionChannels}).");
            if (model.ImageSize % Scale != 0) throw new ArgumentException($"the image size {model.ImageSize} is not a multiple of the scale {Scale}.");
        }
        else
        {
            if (Scale != 1) throw new ArgumentException("only super-resolution has a scale.");
            if (model.ConditionChannels != 0) throw new ArgumentException("a generation model takes no conditioning image channels.");
        }
        return this;
    }
}
