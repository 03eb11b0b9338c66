using Ddpm.Checkpoints;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>A <see cref="ClassifierNetwork"/> as a feature extractor: its penultimate features and softmax probabilities.</summary>
public sealed class ClassifierExtractor : NetworkExtractor<ClassifierNetwork>
{
    /// <summary>Wraps <paramref name="network"/> (taking ownership; put in evaluation mode) with the hash of its weights.</summary>
    public ClassifierExtractor(ClassifierNetwork network, string weightsHash, Device? device = null)
        : base(network, weightsHash, device)
    {
    }

    /// <inheritdoc/>
    public override string Id => Network.Config.Id;

    /// <inheritdoc/>
    public override int FeatureDimension => Network.Config.FeatureDimension;

    /// <inheritdoc/>
    public override int? ClassCount => Network.Config.Classes;

    /// <summary>
    /// Loads a classifier from its JSON description (<see cref="ClassifierConfig"/>) and the safetensors weights it names
    /// (by default <c>model.safetensors</c> beside it).
    /// </summary>
    public static ClassifierExtractor Load(string configPath, Device? device = null)
    {
        var config = ConfigJson.Load<ClassifierConfig>(configPath);
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{configPath}: {e.Message}", e);
        }
        var weights = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, config.Weights);
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights}: the weights named by {configPath} are missing.", weights);
        var network = new ClassifierNetwork(config);
        try
        {
            network.load_safetensors(weights, strict: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            network.Dispose();
            throw new InvalidDataException($"{weights}: does not fit the network described by {configPath} ({e.Message.Split('\n')[0]}).", e);
        }
        return new ClassifierExtractor(network, ExtractorInput.Sha256(weights), device);
    }

    /// <inheritdoc/>
    public override FeatureBatch Extract(Tensor images)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = ExtractorInput.Resize(ExtractorInput.Channels(images, Network.Config.InChannels, Device), Network.Config.ImageSize);
        using var output = Network.FeaturesAndLogits(x);
        var probabilities = output.Logits.softmax(1);
        return new FeatureBatch(output.Features.alias().MoveToOuterDisposeScope(), probabilities.MoveToOuterDisposeScope());
    }
}
