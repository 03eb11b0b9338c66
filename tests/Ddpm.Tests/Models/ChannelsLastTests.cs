using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Models;

/// <summary>The channels-last layout changes where activations live in memory, never what is computed.</summary>
public sealed class ChannelsLastTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Channels_last_gives_the_plain_layouts_outputs_and_gradients(int channels)
    {
        using var setup = new Float64Net(channels);
        var (net, x, weights, t) = (setup.Net, setup.X, setup.Weights, setup.T);
        var attention = (AttnBlock)net.named_modules().Single(m => m.name == "mid.attn_1").module;
        bool? attentionInputChannelsLast = null;
        var hook = attention.register_forward_pre_hook((_, input) =>
        {
            attentionInputChannelsLast = Layout.IsChannelsLast(input);
            return null!;
        });
        (Tensor Output, Dictionary<string, Tensor> Gradients) Run(bool channelsLast)
        {
            net.ChannelsLast = channelsLast;
            net.zero_grad();
            using var scope = NewDisposeScope();
            var output = net.call(x, t);
            if (channelsLast) Assert.True(output.is_contiguous());
            Assert.Equal(channelsLast, attentionInputChannelsLast);
            output.mul(weights).sum().backward();
            var gradients = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone().MoveToOuterDisposeScope());
            return (output.detach().MoveToOuterDisposeScope(), gradients);
        }

        var plain = Run(false);
        var last = Run(true);
        hook.remove();
        Assert.True(plain.Output.abs().max().item<double>() > 1e-3, "randomised weights give a non-zero output");
        Assert.True(plain.Output.allclose(last.Output, rtol: 1e-9, atol: 1e-12));
        foreach (var (name, gradient) in plain.Gradients)
            Assert.True(gradient.allclose(last.Gradients[name], rtol: 1e-8, atol: 1e-11), name);
        plain.Output.Dispose();
        last.Output.Dispose();
        foreach (var tensor in plain.Gradients.Values.Concat(last.Gradients.Values)) tensor.Dispose();
    }

    [Fact]
    public void Layout_conversion_keeps_shape_and_values_and_is_recognised()
    {
        using var g = new Generator(1);
        using var x = randn([2, 5, 3, 4], generator: g);
        Assert.False(Layout.IsChannelsLast(x));
        using var last = Layout.ToChannelsLast(x);
        Assert.True(Layout.IsChannelsLast(last));
        Assert.Equal(x.shape, last.shape);
        Assert.True(x.equal(last).all().item<bool>());
        using var again = Layout.ToChannelsLast(last);
        Assert.True(Layout.IsChannelsLast(again));
    }

    [Theory]
    [InlineData(32, 1)]
    [InlineData(4, 8)]
    [InlineData(64, 4)]
    public void Safe_convolution_with_few_outputs_has_the_float64_input_gradient(int inChannels, int outChannels)
    {
        // libtorch 2.10's plain-layout float32 backward-data is wrong for fewer than 16 output channels on this CPU.
        using var scope = NewDisposeScope();
        using var g = new Generator(11);
        var x = randn([8, inChannels, 14, 14], generator: g);
        var w = randn([outChannels, inChannels, 3, 3], generator: g);
        var upstream = randn([8, outChannels, 14, 14], generator: g);
        var leaf = x.detach().clone().requires_grad_();
        var y = Layout.SafeConv(leaf, h => nn.functional.conv2d(h, w, padding: [1, 1]), outChannels);
        y.backward([upstream]);
        var exact = nn.functional.conv_transpose2d(upstream.to(ScalarType.Float64), w.to(ScalarType.Float64), padding: [1, 1]);
        var error = (leaf.grad!.to(ScalarType.Float64) - exact).norm().item<double>() / exact.norm().item<double>();
        Assert.True(error < 1e-5, $"relative error {error}");
        Assert.True(y.is_contiguous());
    }
}
