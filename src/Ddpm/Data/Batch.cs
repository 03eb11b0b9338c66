using static TorchSharp.torch;

namespace Ddpm.Data;

/// <summary>
/// One training batch. Both tensors are created on the thread that called <see cref="BatchLoader.Next"/>, so they
/// join that thread's dispose scope; outside a scope, dispose the batch.
/// </summary>
/// <param name="Images">float32 [B, C, H, W] in [−1, 1].</param>
/// <param name="Labels">int64 [B]: each image's class, −1 when the data set is unlabelled.</param>
public sealed record Batch(Tensor Images, Tensor Labels) : IDisposable
{
    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
