using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// What every network-backed <see cref="IFeatureExtractor"/> shares: it owns its network, keeps it in evaluation mode on
/// one device, and carries the hash of the weight file it came from.
/// </summary>
/// <typeparam name="TNetwork">The network's module type.</typeparam>
public abstract class NetworkExtractor<TNetwork> : IFeatureExtractor where TNetwork : nn.Module
{
    /// <summary>Wraps <paramref name="network"/> (taking ownership; put in evaluation mode on <paramref name="device"/>, the CPU when null).</summary>
    protected NetworkExtractor(TNetwork network, string weightsHash, Device? device)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsHash);
        Device = device ?? CPU;
        Network = network;
        Network.to(Device);
        Network.eval();
        WeightsHash = weightsHash;
    }

    /// <summary>The network.</summary>
    public TNetwork Network { get; }

    /// <summary>The device the network computes on; inputs are moved there.</summary>
    protected Device Device { get; }

    /// <inheritdoc/>
    public abstract string Id { get; }

    /// <inheritdoc/>
    public string WeightsHash { get; }

    /// <inheritdoc/>
    public abstract int FeatureDimension { get; }

    /// <inheritdoc/>
    public abstract int? ClassCount { get; }

    /// <inheritdoc/>
    public abstract FeatureBatch Extract(Tensor images);

    /// <inheritdoc/>
    public void Dispose()
    {
        Network.Dispose();
        GC.SuppressFinalize(this);
    }
}
