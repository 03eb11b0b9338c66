using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Conditioning;

/// <summary>
/// Classifier-free guidance's training-time dropout (Ho &amp; Salimans 2021, Algorithm 1): each label is replaced by the
/// null class (−1) with probability p, so one network learns both the conditional and the unconditional model.
/// </summary>
public static class LabelDropout
{
    /// <summary>
    /// <paramref name="labels"/> (int64 [B]) with each replaced by −1 when a uniform draw from
    /// <paramref name="generator"/> falls below <paramref name="probability"/>; one draw per label, on the CPU.
    /// </summary>
    public static Tensor Apply(Tensor labels, double probability, Generator generator)
    {
        if (!(probability >= 0 && probability < 1)) throw new ArgumentException($"the label dropout must lie in [0, 1) (got {probability}).");
        using var scope = NewDisposeScope();
        var dropped = rand([labels.shape[0]], generator: generator).lt(probability);
        if (labels.device.type != DeviceType.CPU) dropped = dropped.to(labels.device);
        return where(dropped, full_like(labels, -1), labels).MoveToOuterDisposeScope();
    }
}
