using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// A network that maps images to feature vectors (and, when it has a class head, class probabilities): what FID, KID,
/// precision/recall and the Inception-style score are computed on.
/// </summary>
public interface IFeatureExtractor : IDisposable
{
    /// <summary>The network's name, e.g. <c>fashion-mnist-classifier</c> or <c>inception-v3-fid</c>; part of the statistics cache key.</summary>
    string Id { get; }

    /// <summary>SHA-256 (lower-case hex) of the weight file(s); part of the statistics cache key, so new weights invalidate it.</summary>
    string WeightsHash { get; }

    /// <summary>Length of a feature vector.</summary>
    int FeatureDimension { get; }

    /// <summary>Number of classes of its head; null when it has none (then no Inception-style score).</summary>
    int? ClassCount { get; }

    /// <summary>
    /// Features (and probabilities) of a batch of images, float32 [N, C, H, W] in [−1, 1] on any device. The extractor
    /// converts the channel count and size itself and records no gradients.
    /// </summary>
    FeatureBatch Extract(Tensor images);
}

/// <summary>Features [N, D] float32 and, when the extractor has a class head, softmax probabilities [N, K] float32.</summary>
public sealed record FeatureBatch(Tensor Features, Tensor? Probabilities) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Features.Dispose();
        Probabilities?.Dispose();
    }
}
