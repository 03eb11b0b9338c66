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
}

/// <summary>How the reverse-process variance σ_t² is chosen (Ho et al. 2020, §3.2).</summary>
public enum ModelVarianceType
{
    /// <summary>σ_t² = β̃_t, the posterior variance: optimal for x_0 deterministic.</summary>
    FixedSmall,

    /// <summary>σ_t² = β_t (with β̃ at index 1 used at index 0): optimal for x_0 ~ N(0, I). The official CIFAR-10 model's choice.</summary>
    FixedLarge,
}
