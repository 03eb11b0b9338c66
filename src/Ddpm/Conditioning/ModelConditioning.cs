using static TorchSharp.torch;

namespace Ddpm.Conditioning;

/// <summary>
/// What a conditional model is given besides x_t and t, for one batch: each image's class (int64 [B], −1 for the null
/// class of classifier-free guidance) and a conditioning image [B, C_cond, H, W] concatenated to x_t (SR3's upsampled
/// low-resolution image). Either may be null.
/// </summary>
public sealed record ModelConditioning(Tensor? Labels = null, Tensor? Image = null)
{
    /// <summary>No conditioning: an unconditional model, or the null class of a class-conditional one.</summary>
    public static ModelConditioning None { get; } = new();
}

/// <summary>A denoising network with its conditioning: (x_t, t, conditioning) → output (ε, x̂_0, v or μ̃, and a variance's channels).</summary>
public delegate Tensor ConditionalModel(Tensor x, Tensor t, ModelConditioning conditioning);
