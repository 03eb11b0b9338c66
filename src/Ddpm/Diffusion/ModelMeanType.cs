namespace Ddpm.Diffusion;

/// <summary>What the network predicts (Ho et al. 2020, §3.2; Salimans &amp; Ho 2022 for v).</summary>
public enum ModelMeanType
{
    /// <summary>The noise ε (the paper's choice, Eq. 11).</summary>
    Epsilon,

    /// <summary>The clean image x_0.</summary>
    StartX,

    /// <summary>The velocity v = √ᾱ_t ε − √(1 − ᾱ_t) x_0 (Salimans &amp; Ho 2022).</summary>
    Velocity,

    /// <summary>
    /// The posterior mean μ̃_t(x_t, x_0) itself, i.e. the mean of x_{t−1}: Table 2's "μ̃ prediction" baseline (the official
    /// code's <c>xprev</c>). Its x̂_0 is (μ − coef2·x_t)/coef1 on the training chain.
    /// </summary>
    PreviousX,
}

/// <summary>How the reverse-process variance σ_t² is chosen (Ho et al. 2020, §3.2; Nichol &amp; Dhariwal 2021, §3.1).</summary>
public enum ModelVarianceType
{
    /// <summary>σ_t² = β̃_t, the posterior variance: optimal for x_0 deterministic.</summary>
    FixedSmall,

    /// <summary>σ_t² = β_t (with β̃ at index 1 used at index 0): optimal for x_0 ~ N(0, I). The official CIFAR-10 model's choice.</summary>
    FixedLarge,

    /// <summary>
    /// Learned: the network outputs log σ_t² itself in a second set of channels (Table 2's "learned diagonal Σ"; the
    /// official code's <c>learned</c>). Only the bound trains it.
    /// </summary>
    Learned,

    /// <summary>
    /// Learned between the two fixed choices: the second set of channels v gives log σ_t² = ((v + 1)/2) log β_t +
    /// (1 − (v + 1)/2) log β̃_t (Nichol &amp; Dhariwal 2021, Eq. 15; improved-diffusion's <c>learned_range</c>).
    /// </summary>
    LearnedRange,
}

/// <summary>Properties of the variance choices.</summary>
public static class ModelVarianceTypes
{
    /// <summary>Whether the network outputs the variance (and so has twice the image's channels).</summary>
    public static bool IsLearned(this ModelVarianceType type) => type is ModelVarianceType.Learned or ModelVarianceType.LearnedRange;

    /// <summary>The network's output channels for images of <paramref name="imageChannels"/> channels.</summary>
    public static int OutputChannels(this ModelVarianceType type, int imageChannels) => type.IsLearned() ? 2 * imageChannels : imageChannels;
}
