using Ddpm.Imaging;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Imaging;

public class ByteImagesTests
{
    [Fact]
    public void Grey_image_maps_known_values_to_known_bytes()
    {
        using var image = TestImages.Make([-1f, 0f, 1f, 0.5f, -0.5f, 2f], 1, 2, 3);
        var bytes = ByteImages.FromTensor(image);
        Assert.Equal((1, 1, 2, 3), (bytes.Count, bytes.Channels, bytes.Height, bytes.Width));
        Assert.Equal(new byte[] { 0, 128, 255, 191, 64, 255 }, bytes.Pixels);
        Assert.Equal(191, bytes[0, 1, 0, 0]); // 1.5·127.5 = 191.25
    }

    [Fact]
    public void Rgb_channels_are_interleaved_per_pixel()
    {
        // One 1×2 RGB image: pixel 0 = (−1, 0, 1), pixel 1 = (1, −1, 0), given channel-first.
        using var image = TestImages.Make([-1f, 1f, 0f, -1f, 1f, 0f], 3, 1, 2);
        var bytes = ByteImages.FromTensor(image);
        Assert.Equal(new byte[] { 0, 128, 255, 255, 0, 128 }, bytes.Pixels);
        Assert.Equal(255, bytes[0, 0, 0, 2]);
        Assert.Equal(255, bytes[0, 0, 1, 0]);
    }

    [Fact]
    public void Batches_and_bfloat16_are_accepted()
    {
        using var images = TestImages.Pattern(2, 3, 4, 5);
        using var bf16 = images.to(ScalarType.BFloat16);
        var bytes = ByteImages.FromTensor(images);
        Assert.Equal(2, bytes.Count);
        for (var n = 0; n < 2; n++)
        for (var c = 0; c < 3; c++)
        for (var y = 0; y < 4; y++)
        for (var x = 0; x < 5; x++)
            Assert.Equal(TestImages.PatternByte(n, c, y, x, 5), bytes[n, y, x, c]);

        // bfloat16 keeps 8 bits of mantissa, so a byte may move by one step at most.
        var fromBf16 = ByteImages.FromTensor(bf16);
        for (var i = 0; i < bytes.Pixels.Length; i++) Assert.InRange(Math.Abs(bytes.Pixels[i] - fromBf16.Pixels[i]), 0, 1);
        Assert.Equal(new byte[] { 0, 128, 255 }, ByteImages.FromTensor(TestImages.Make([-1f, 0f, 1f], 1, 1, 3).to(ScalarType.BFloat16)).Pixels);
    }

    [Fact]
    public void ToTensor_gives_back_the_images_within_one_step()
    {
        using var images = TestImages.Make([-1f, -0.3f, 0.2f, 0.77f, 1f, 0f], 1, 1, 2, 3);
        using var back = ByteImages.FromTensor(images).ToTensor();
        Assert.Equal(images.shape, back.shape);
        Assert.Equal(ScalarType.Float32, back.dtype);
        Assert.True(back.allclose(images, rtol: 0, atol: TestImages.RoundTripTolerance));
    }

    [Fact]
    public void ToBitmap_makes_grey_or_opaque_rgba_bitmaps()
    {
        using var grey = TestImages.Pattern(1, 1, 3, 4);
        using var greyBitmap = ByteImages.FromTensor(grey).ToBitmap();
        Assert.Equal(SKColorType.Gray8, greyBitmap.ColorType);
        Assert.Equal((4, 3), (greyBitmap.Width, greyBitmap.Height));
        var p = TestImages.PatternByte(0, 0, 2, 3, 4);
        Assert.Equal(new SKColor(p, p, p), greyBitmap.GetPixel(3, 2));

        using var rgb = TestImages.Pattern(1, 3, 3, 4);
        using var rgbBitmap = ByteImages.FromTensor(rgb).ToBitmap();
        Assert.Equal(SKColorType.Rgba8888, rgbBitmap.ColorType);
        Assert.Equal(
            new SKColor(TestImages.PatternByte(0, 0, 1, 2, 4), TestImages.PatternByte(0, 1, 1, 2, 4), TestImages.PatternByte(0, 2, 1, 2, 4)),
            rgbBitmap.GetPixel(2, 1));
    }

    public static TheoryData<long[]> BadShapes => new()
    {
        new long[] { 4, 4 },          // rank 2
        new long[] { 1, 1, 1, 4, 4 }, // rank 5
        new long[] { 2, 4, 4 },       // C = 2
        new long[] { 3, 4, 4, 4 },    // C = 4
        new long[] { 0, 1, 4, 4 },    // no images
        new long[] { 1, 0, 4 },       // C = 0
        new long[] { 1, 4, 0 },       // zero width
    };

    [Theory]
    [MemberData(nameof(BadShapes))]
    public void Bad_shapes_are_rejected_with_a_one_line_message(long[] shape)
    {
        using var bad = zeros(shape);
        var e = Assert.Throws<ArgumentException>(() => ByteImages.FromTensor(bad));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Integer_tensors_are_rejected()
    {
        using var bytes = zeros([1, 4, 4], ScalarType.Byte);
        var e = Assert.Throws<ArgumentException>(() => ByteImages.FromTensor(bytes));
        Assert.Contains("floating-point", e.Message);
    }

    [Fact]
    public void Conversion_leaves_no_tensor_behind()
    {
        using var images = TestImages.Pattern(2, 3, 4, 4);
        using var scope = NewDisposeScope();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        _ = ByteImages.FromTensor(images);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
