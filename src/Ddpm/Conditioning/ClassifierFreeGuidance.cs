using static TorchSharp.torch;

namespace Ddpm.Conditioning;

/// <summary>
/// Classifier-free guidance (Ho &amp; Salimans 2021) with diffusers' scale s: ε̃ = ε(x, ∅) + s·(ε(x, c) − ε(x, ∅)). s = 0 is
/// the unconditional model, s = 1 the conditional one, s &gt; 1 guided; the paper's weight w is s − 1
/// (ε̃ = (1 + w)·ε(x, c) − w·ε(x, ∅)). Only the first <c>C</c> channels (the mean's output, whatever the model predicts) are
/// guided; a learned variance's channels are the conditional model's, as in GLIDE.
/// </summary>
public static class ClassifierFreeGuidance
{
    /// <summary>
    /// The guided output of <paramref name="model"/> for <paramref name="x"/> [B, C, H, W] at <paramref name="t"/> given
    /// <paramref name="conditioning"/>. With s = 0 the model runs once on the null class, with s = 1 once on the labels,
    /// otherwise once on a batch of 2B (labels, then the null class), as diffusers' pipelines.
    /// </summary>
    public static Tensor Apply(ConditionalModel model, Tensor x, Tensor t, ModelConditioning conditioning, double scale)
    {
        if (!double.IsFinite(scale)) throw new ArgumentException($"The guidance scale must be finite (got {scale}).");
        var labels = conditioning.Labels;
        if (labels is null || scale == 1) return model(x, t, conditioning);
        if (scale == 0) return WithNullClass(model, x, t, conditioning);
        using var scope = NewDisposeScope();
        var batch = x.shape[0];
        var image = conditioning.Image is null ? null : cat([conditioning.Image, conditioning.Image], 0);
        var both = model(cat([x, x], 0), cat([t, t], 0), new ModelConditioning(cat([labels, full_like(labels, -1)], 0), image));
        var conditional = both.narrow(0, 0, batch);
        var unconditional = both.narrow(0, batch, batch);
        var channels = x.shape[1];
        var mean = unconditional.narrow(1, 0, channels) + (conditional.narrow(1, 0, channels) - unconditional.narrow(1, 0, channels)) * scale;
        var guided = both.shape[1] == channels ? mean : cat([mean, conditional.narrow(1, channels, both.shape[1] - channels)], 1);
        return guided.contiguous().MoveToOuterDisposeScope();
    }

    private static Tensor WithNullClass(ConditionalModel model, Tensor x, Tensor t, ModelConditioning conditioning)
    {
        using var none = full_like(conditioning.Labels!, -1);
        return model(x, t, conditioning with { Labels = none });
    }
}
