using Ddpm.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ddpm.Tests.Models;

/// <summary>
/// 3×3 convolutions of inputs whose channel count is not a multiple of 16 against the same convolution in float64
/// (oneDNN's plain-layout kernel is off by ~1 for such inputs on AVX-512 CPUs).
/// </summary>
public sealed class SafeConvTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(24)]
    [InlineData(40)]
    [InlineData(100)]
    public void Convolution_of_any_channel_count_matches_float64(int channels)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var x = randn([2, channels, 8, 8], generator: generator);
        var weight = randn([8, channels, 3, 3], generator: generator) / Math.Sqrt(channels * 9);
        var bias = randn([8], generator: generator);
        var exact = F.conv2d(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), bias.to(ScalarType.Float64), padding: [1, 1]);
        var y = Layout.SafeConv(x, a => F.conv2d(a, weight, bias, padding: [1, 1]));
        Assert.True(y.is_contiguous());
        Assert.True((y.to(ScalarType.Float64) - exact).abs().max().item<double>() < 1e-4);
    }
}
