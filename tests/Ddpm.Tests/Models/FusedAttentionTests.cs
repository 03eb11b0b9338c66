using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Models;

/// <summary>libtorch's fused attention, used under autograd at large resolutions, computes the same as the explicit products.</summary>
public sealed class FusedAttentionTests
{
    [Fact]
    public void Fused_attention_gives_the_explicit_products_outputs_and_gradients()
    {
        using var setup = new Float64Net();
        var (net, x, weights, t) = (setup.Net, setup.X, setup.Weights, setup.T);
        Assert.Equal(AttnBlock.DefaultFusedFromPositions, net.FusedAttentionFromPositions);

        (Tensor Output, Dictionary<string, Tensor> Gradients) Run(int fusedFrom)
        {
            net.FusedAttentionFromPositions = fusedFrom;
            Assert.All(net.modules().OfType<AttnBlock>(), a => Assert.Equal(fusedFrom, a.FusedFromPositions));
            net.zero_grad();
            using var scope = NewDisposeScope();
            var output = net.call(x, t);
            output.mul(weights).sum().backward();
            var gradients = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone().MoveToOuterDisposeScope());
            return (output.detach().MoveToOuterDisposeScope(), gradients);
        }

        var explicitProducts = Run(int.MaxValue);
        var fused = Run(0);
        net.FusedAttentionFromPositions = AttnBlock.DefaultFusedFromPositions;
        Assert.True(explicitProducts.Output.abs().max().item<double>() > 1e-3, "randomised weights give a non-zero output");
        Assert.True(explicitProducts.Output.allclose(fused.Output, rtol: 1e-9, atol: 1e-12));
        // Equal to rounding, not to the bit: the fused kernel did run (it sums in another order).
        Assert.False(explicitProducts.Output.equal(fused.Output).all().item<bool>());
        var attentionGradients = 0;
        foreach (var (name, gradient) in explicitProducts.Gradients)
        {
            Assert.True(gradient.allclose(fused.Gradients[name], rtol: 1e-8, atol: 1e-11), name);
            if (name.Contains(".attn", StringComparison.Ordinal) && gradient.abs().max().item<double>() > 0) attentionGradients++;
        }
        Assert.True(attentionGradients > 0, "the attention's own parameters receive gradients");
        foreach (var tensor in new[] { explicitProducts.Output, fused.Output }.Concat(explicitProducts.Gradients.Values).Concat(fused.Gradients.Values))
            tensor.Dispose();
    }
}
