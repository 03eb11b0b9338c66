using Ddpm.Models;
using Ddpm.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.TestSupport;

/// <summary>
/// The tiny U-Net without dropout in float64 with randomised weights (so no layer starts at zero), an input batch of
/// two, weights for a scalar loss Σ output·weights, and two timesteps: the set-up of the gradient comparisons.
/// </summary>
internal sealed class Float64Net : IDisposable
{
    public Float64Net(int channels = 1)
    {
        Net = new UNet(TinyRuns.Model with { Dropout = 0, InChannels = channels }, seed: 3);
        Net.to(ScalarType.Float64);
        DropoutStreamTests.RandomiseWeights(Net, seed: 4);
        using var g = new Generator(5);
        X = randn([2, channels, 8, 8], dtype: ScalarType.Float64, generator: g);
        Weights = randn([2, channels, 8, 8], dtype: ScalarType.Float64, generator: g);
        T = tensor(new long[] { 3, 70 });
    }

    public UNet Net { get; }
    public Tensor X { get; }
    public Tensor Weights { get; }
    public Tensor T { get; }

    public void Dispose()
    {
        Net.Dispose();
        X.Dispose();
        Weights.Dispose();
        T.Dispose();
    }
}
