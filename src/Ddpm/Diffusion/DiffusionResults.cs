using static TorchSharp.torch;

namespace Ddpm.Diffusion;

/// <summary>A diagonal Gaussian given by its mean, variance and log-variance (tensors broadcastable to the sample).</summary>
public sealed record GaussianParameters(Tensor Mean, Tensor Variance, Tensor LogVariance);

/// <summary>The reverse-process Gaussian p_θ(x_{t−1} | x_t) and the x̂_0 it was built from.</summary>
public sealed record ReverseStepParameters(Tensor Mean, Tensor Variance, Tensor LogVariance, Tensor PredictedStart);
