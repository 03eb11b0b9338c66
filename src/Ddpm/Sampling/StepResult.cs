using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>The result of one reverse step: x_{t−1} and the x̂_0 it was computed from (diffusers' <c>prev_sample</c>, <c>pred_original_sample</c>).</summary>
public sealed record StepResult(Tensor Previous, Tensor PredictedStart);
