using Ddpm.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests;

/// <summary>The arithmetic helpers that free their native scalars at once compute what TorchSharp's operators compute.</summary>
public sealed class NativeScalarsTests
{
    private static Tensor Sample(long seed)
    {
        using var generator = new Generator((ulong)seed);
        return randn([3, 4], dtype: ScalarType.Float64, generator: generator);
    }

    [Fact]
    public void In_place_helpers_change_and_return_the_tensor_they_are_called_on()
    {
        using var scope = NewDisposeScope();
        var y = Sample(2);
        var expected = (Sample(1) + y) * 3.0;
        var x = Sample(1);
        Assert.Same(x, x.AddInPlace(y));
        Assert.Same(x, x.TimesInPlace(3.0));
        Assert.True(x.allclose(expected, rtol: 0, atol: 1e-15));
    }

    [Fact]
    public void The_shared_one_is_one() => Assert.Equal(1, NativeScalars.One.ToInt64());
}
