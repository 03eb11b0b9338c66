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
