using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Models;

public sealed class DropoutStreamTests
{
    [Fact]
    public void Masks_hold_zero_or_the_inverse_keep_rate_at_the_requested_rate()
    {
        var stream = new DropoutStream(seed: 7);
        using var mask = stream.KeepMask([1000, 1000], 0.1);
        using var kept = mask.gt(0);
        var keptCount = kept.sum().item<long>();
        // Binomial(10⁶, 0.9): σ = 300; six σ either side.
        Assert.InRange(keptCount, 900_000 - 1800, 900_000 + 1800);
        using var expected = kept.to(ScalarType.Float32).mul(1.0f / 0.9f);
        Assert.True(Same.Bytes(mask, expected));
        Assert.Equal(1_000_000, stream.Position);
    }

    [Fact]
    public void The_stream_is_a_function_of_seed_and_position()
    {
        var whole = new DropoutStream(3);
        using var all = whole.KeepMask([2, 500], 0.3);
        var parts = new DropoutStream(3);
        using var first = parts.KeepMask([300], 0.3);
        using var second = parts.KeepMask([700], 0.3);
        using var joined = cat([first, second]);
        Assert.True(Same.Bytes(all.flatten(), joined));

        var resumed = new DropoutStream(99);
        resumed.Reset(3, position: 300);
        using var again = resumed.KeepMask([700], 0.3);
        Assert.True(Same.Bytes(again, second));

        var other = new DropoutStream(4);
        using var different = other.KeepMask([2, 500], 0.3);
        Assert.False(Same.Bytes(different, all));
    }

    [Fact]
    public void A_bfloat16_mask_is_the_float32_mask_cast()
    {
        using var single = new DropoutStream(5).KeepMask([4096], 0.1);
        using var half = new DropoutStream(5).KeepMask([4096], 0.1, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, half.dtype);
        using var cast = single.to(ScalarType.BFloat16);
        Assert.True(Same.Bytes(half, cast));
    }

    [Fact]
    public void Rate_zero_keeps_everything_and_bad_rates_are_refused()
    {
        using var mask = new DropoutStream(1).KeepMask([100], 0.0);
        using var ones = torch.ones(100);
        Assert.True(Same.Bytes(mask, ones));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutStream(1).KeepMask([4], 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DropoutStream(1).KeepMask([4], -0.1));
    }

    [Fact]
    public void A_training_U_Net_draws_its_dropout_from_its_stream_and_an_eval_one_draws_none()
    {
        using var net = new UNet(TinyRuns.Model, seed: 1);
        RandomiseWeights(net);
        using var g = new Generator(2);
        using var x = randn([3, 1, 8, 8], generator: g);
        using var t = tensor(new long[] { 1, 50, 99 });
        net.train();
        using var noGrad = no_grad();
        using var first = net.call(x, t);
        var used = net.Dropout.Position;
        Assert.True(used > 0);
        using var second = net.call(x, t);
        Assert.False(Same.Bytes(first, second));
        net.Dropout.Reset(net.Dropout.Seed, 0);
        using var replay = net.call(x, t);
        Assert.True(Same.Bytes(replay, first));
        net.eval();
        var before = net.Dropout.Position;
        using var e1 = net.call(x, t);
        using var e2 = net.call(x, t);
        Assert.True(Same.Bytes(e1, e2));
        Assert.Equal(before, net.Dropout.Position);
    }

    [Fact]
    public void A_resnet_block_drops_exactly_the_streams_mask_forward_and_backward()
    {
        // The block multiplies by the boolean KeepBits mask and scales in place; spelled out here with the float KeepMask
        // of a stream at the same position, in float64, its output and input gradient must be the same.
        using var block = new ResnetBlock(4, 4, 6, dropoutRate: 0.5, groups: 2, new Generator(3), new DropoutStream(8));
        RandomiseWeights(block);
        block.to(ScalarType.Float64);
        block.train();
        var m = block.named_modules().ToDictionary(n => n.name, n => n.module);
        using var g = new Generator(4);
        using var x = randn([2, 4, 5, 5], dtype: ScalarType.Float64, generator: g).requires_grad_();
        using var temb = randn([2, 6], dtype: ScalarType.Float64, generator: g);
        using var y = block.call(x, temb);
        using var gy = randn(y.shape, dtype: ScalarType.Float64, generator: g);
        var gx = autograd.grad([y], [x], [gy])[0];

        using var xe = x.detach().requires_grad_();
        using var mask = new DropoutStream(8).KeepMask([2, 4, 5, 5], 0.5, ScalarType.Float64);
        var conv1 = (nn.Module<Tensor, Tensor>)m["conv1"];
        var norm1 = (nn.Module<Tensor, Tensor>)m["norm1"];
        var norm2 = (nn.Module<Tensor, Tensor>)m["norm2"];
        var conv2 = (nn.Module<Tensor, Tensor>)m["conv2"];
        var proj = (nn.Module<Tensor, Tensor>)m["temb_proj"];
        var h = conv1.call(nn.functional.silu(norm1.call(xe))) + proj.call(nn.functional.silu(temb)).view(2, 4, 1, 1);
        h = conv2.call(nn.functional.silu(norm2.call(h)) * mask) + xe;
        var gxe = autograd.grad([h], [xe], [gy])[0];
        Assert.True(y.allclose(h, rtol: 1e-12, atol: 1e-12));
        Assert.True(gx.allclose(gxe, rtol: 1e-12, atol: 1e-12));
        using var zeros = mask.eq(0);
        Assert.True(zeros.any().item<bool>() && !zeros.all().item<bool>());
    }

    internal static void RandomiseWeights(nn.Module net, ulong seed = 11)
    {
        // The zero-initialised output layers would otherwise make every output (and most gradients) zero.
        using var g = new Generator(seed);
        using var noGrad = no_grad();
        foreach (var p in net.parameters())
        {
            using var r = randn(p.shape, dtype: p.dtype, generator: g);
            p.copy_(r.mul_(0.2));
        }
    }
}
