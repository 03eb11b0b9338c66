using Ddpm.Imaging;

namespace Ddpm.Tests.Imaging;

public class PixelConversionTests
{
    [Theory]
    [InlineData(-1.0, 0)]
    [InlineData(0.0, 128)] // 127.5 rounds half up
    [InlineData(1.0, 255)]
    [InlineData(-2.0, 0)]
    [InlineData(3.0, 255)]
    [InlineData(double.NaN, 0)]
    [InlineData(double.PositiveInfinity, 255)]
    [InlineData(double.NegativeInfinity, 0)]
    [InlineData(-0.996, 1)] // (0.004)·127.5 = 0.51 → 1
    [InlineData(-0.997, 0)] // 0.3825 → 0
    public void ToByte_rounds_half_up_and_clamps(double x, int expected) =>
        Assert.Equal((byte)expected, PixelConversion.ToByte(x));

    [Fact]
    public void ToUnit_inverts_ToByte_for_every_byte()
    {
        for (var b = 0; b <= 255; b++) Assert.Equal((byte)b, PixelConversion.ToByte(PixelConversion.ToUnit((byte)b)));
        Assert.Equal(-1f, PixelConversion.ToUnit(0));
        Assert.Equal(1f, PixelConversion.ToUnit(255));
    }

    [Fact]
    public void Round_trip_error_is_at_most_half_a_step()
    {
        for (var i = 0; i <= 2000; i++)
        {
            var x = -1.0 + i / 1000.0;
            Assert.InRange(Math.Abs(PixelConversion.ToUnit(PixelConversion.ToByte(x)) - x), 0, TestImages.RoundTripTolerance);
        }
    }
}
