using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Models;

/// <summary>
/// The U-Net releases each activation as soon as its own code is done with it, also under autograd. Gradients must
/// still be exact: they are checked against central finite differences in float64.
/// </summary>
public sealed class GradientTests
{
    [Fact]
    public void Autograd_gradients_of_the_U_Net_match_finite_differences()
    {
        using var setup = new Float64Net();
        var (net, x, weights, t) = (setup.Net, setup.X, setup.Weights, setup.T);
        net.eval();
        double Loss()
        {
            using var scope = NewDisposeScope();
            return net.call(x, t).mul(weights).sum().item<double>();
        }

        var named = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (var scope = NewDisposeScope())
        {
            net.zero_grad();
            net.call(x, t).mul(weights).sum().backward();
        }
        // One parameter from each kind of layer, down, middle and up: conv, GroupNorm, linear, attention, skip.
        string[] probes =
        [
            "conv_in.weight", "temb.dense.0.weight", "down.0.block.0.conv1.weight", "down.0.block.0.norm2.weight",
            "down.1.attn.0.q.weight", "down.1.attn.0.v.bias", "mid.attn_1.k.weight", "mid.block_2.temb_proj.bias",
            "up.0.block.0.nin_shortcut.weight", "up.1.attn.1.proj_out.weight", "norm_out.bias", "conv_out.weight",
        ];
        const double h = 1e-6;
        foreach (var name in probes)
        {
            var p = named[name];
            using var flat = p.detach().view(-1);
            var analytic = p.grad!.view(-1);
            foreach (var i in new long[] { 0, flat.numel() / 2, flat.numel() - 1 })
            {
                double original;
                using (no_grad()) original = flat[i].item<double>();
                using (no_grad()) flat[i] = original + h;
                var plus = Loss();
                using (no_grad()) flat[i] = original - h;
                var minus = Loss();
                using (no_grad()) flat[i] = original;
                var numeric = (plus - minus) / (2 * h);
                var exact = analytic[i].item<double>();
                Assert.True(Math.Abs(numeric - exact) <= 1e-6 * Math.Max(1, Math.Abs(exact)),
                    $"{name}[{i}]: autograd {exact}, finite difference {numeric}");
            }
        }
    }
}
