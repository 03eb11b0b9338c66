using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// pytorch-fid's Inception-v3 as a feature extractor: images in [−1, 1] with 3 channels (grey repeated, as pytorch-fid's
/// <c>convert('RGB')</c>), bilinearly resized to 299×299 (align_corners = False), 2048-d pool features, and softmax
/// probabilities over the 1008 unbiased logits for the Inception-style score.
/// </summary>
/// <remarks>
/// pytorch-fid resizes [0, 1] images and then maps them by 2x − 1 (<c>normalize_input</c>); bilinear weights sum to one,
/// so resizing the [−1, 1] images directly is the same map. Numerical parity with pytorch-fid is unverified here: the
/// weights were not available when this was written (see docs/evaluation.md).
/// </remarks>
public sealed class FidInceptionExtractor : NetworkExtractor<FidInceptionV3>
{
    /// <summary>The extractor's id.</summary>
    public const string ExtractorId = "inception-v3-fid";

    /// <summary>Wraps <paramref name="network"/> (taking ownership; evaluation mode) with the hash of its weights.</summary>
    public FidInceptionExtractor(FidInceptionV3 network, string weightsHash, Device? device = null)
        : base(network, weightsHash, device)
    {
    }

    /// <inheritdoc/>
    public override string Id => ExtractorId;

    /// <inheritdoc/>
    public override int FeatureDimension => FidInceptionV3.FeatureDimension;

    /// <inheritdoc/>
    public override int? ClassCount => FidInceptionV3.Classes;

    /// <summary>Loads pytorch-fid's weight file <c>pt_inception-2015-12-05-6726825d.pth</c> (a pickled state dict) with TorchSharp.PyBridge.</summary>
    /// <exception cref="InvalidDataException">The file is not that state dict (a key or shape does not match).</exception>
    public static FidInceptionExtractor Load(string path, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: not found.", path);
        var network = new FidInceptionV3();
        try
        {
            var loaded = new Dictionary<string, bool>();
            network.load_py(path, strict: false, loadedParameters: loaded);
            // The 2015 file predates BatchNorm's num_batches_tracked buffer; every other key must be there.
            var missing = network.state_dict().Keys
                .Where(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal) && !(loaded.TryGetValue(k, out var ok) && ok))
                .ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{path}: not pytorch-fid's Inception-v3 weights ({missing.Count} keys missing, e.g. {missing[0]}).");
        }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException))
        {
            network.Dispose();
            throw new InvalidDataException($"{path}: not pytorch-fid's Inception-v3 weights ({e.Message.Split('\n')[0]}).", e);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return new FidInceptionExtractor(network, ExtractorInput.Sha256(path), device);
    }

    /// <inheritdoc/>
    public override FeatureBatch Extract(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = ExtractorInput.Resize(ExtractorInput.Channels(images, 3, Device), FidInceptionV3.InputSize);
        var features = Network.call(x);
        var probabilities = Network.UnbiasedLogits(features).softmax(1);
        return new FeatureBatch(features.MoveToOuterDisposeScope(), probabilities.MoveToOuterDisposeScope());
    }
}
