using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>A diagonal Gaussian given by its mean, variance and log-variance (tensors broadcastable to the sample).</summary>
public sealed record GaussianParameters(Tensor Mean, Tensor Variance, Tensor LogVariance);

/// <summary>The reverse-process Gaussian p_θ(x_{t−1} | x_t) and the x̂_0 it was built from.</summary>
public sealed record ReverseStepParameters(Tensor Mean, Tensor Variance, Tensor LogVariance, Tensor PredictedStart);

/// <summary>The training objective (Ho et al. 2020, Table 2; Nichol &amp; Dhariwal 2021, §3.1).</summary>
public enum LossType
{
    /// <summary>L_simple: mean squared error of the model's prediction (Eq. 14); the paper's choice.</summary>
    Simple,

    /// <summary>The true variational bound L (Eq. 5), one uniformly (or importance-) sampled term per example.</summary>
    Kl,

    /// <summary>L_simple + λ·L_vb with the mean's gradient stopped inside L_vb: trains a learned variance beside L_simple.</summary>
    Hybrid,
}

/// <summary>Per-example [B] training losses: the total, and the squared error and the bound's term where they apply.</summary>
public sealed record TrainingLosses(Tensor Loss, Tensor? Mse, Tensor? Vb)
{
    /// <summary>λ of the hybrid objective (Nichol &amp; Dhariwal 2021, §3.1).</summary>
    public const double DefaultHybridWeight = 0.001;
}
