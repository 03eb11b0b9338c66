using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Imaging;

public class GifTests
{
    /// <summary>Largest per-channel error of the 6×7×6 colour cube: half of the 51-wide red/blue step.</summary>
    private const int CubeTolerance = 26;

    [Fact]
    public void Grey_frames_decode_exactly_with_SKCodec()
    {
        using var dir = new TempFolder();
        var frames = Enumerable.Range(0, 3).Select(i => TestImages.Pattern(1, 1, 4, 5) * (1 - 0.5f * i)).ToArray();
        var path = dir.File("grey.gif");
        Gif.Save(frames, path, new GifOptions { DelayMs = 50, LastFrameDelayMs = 700 });

        using var codec = SKCodec.Create(path);
        Assert.NotNull(codec);
        Assert.Equal(SKEncodedImageFormat.Gif, codec.EncodedFormat);
        Assert.Equal(3, codec.FrameCount);
        Assert.Equal((5, 4), (codec.Info.Width, codec.Info.Height));
        Assert.Equal(-1, codec.RepetitionCount); // loop forever
        Assert.Equal(new[] { 50, 50, 700 }, codec.FrameInfo.Select(f => f.Duration));
        for (var i = 0; i < 3; i++)
        {
            var expected = ByteImages.FromTensor(frames[i]);
            using var bitmap = DecodeFrame(codec, i);
            for (var y = 0; y < 4; y++)
            for (var x = 0; x < 5; x++)
            {
                var v = expected[0, y, x, 0];
                Assert.Equal(new SKColor(v, v, v), bitmap.GetPixel(x, y));
            }
        }

        foreach (var f in frames) f.Dispose();
    }

    [Fact]
    public void Rgb_frames_are_quantised_to_the_colour_cube()
    {
        // Channel-first 2×2 RGB: R = (1, −1, −0.2, 0), G = (−1, 1, 1, −1), B = (−1, 0.2, 0.2, 0).
        // Bytes 0, 102, 153, 255 are cube levels and come through exactly; 128 goes to the nearest level, 153.
        using var exact = TestImages.Make([1f, -1f, -0.2f, 0f, -1f, 1f, 1f, -1f, -1f, 0.2f, 0.2f, 0f], 3, 2, 2);
        using var pattern = TestImages.Pattern(1, 3, 2, 2);
        var bytes = Gif.Encode([exact, pattern], new GifOptions { Loop = false });
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        Assert.Equal(2, codec.FrameCount);
        Assert.Equal(0, codec.RepetitionCount); // no looping extension: play once

        using (var first = DecodeFrame(codec, 0))
        {
            Assert.Equal(new SKColor(255, 0, 0), first.GetPixel(0, 0));
            Assert.Equal(new SKColor(0, 255, 153), first.GetPixel(1, 0));
            Assert.Equal(new SKColor(102, 255, 153), first.GetPixel(0, 1));
            Assert.Equal(new SKColor(153, 0, 153), first.GetPixel(1, 1));
        }

        using var second = DecodeFrame(codec, 1);
        var expected = ByteImages.FromTensor(pattern);
        for (var y = 0; y < 2; y++)
        for (var x = 0; x < 2; x++)
        {
            var p = second.GetPixel(x, y);
            Assert.InRange(Math.Abs(p.Red - expected[0, y, x, 0]), 0, CubeTolerance);
            Assert.InRange(Math.Abs(p.Green - expected[0, y, x, 1]), 0, CubeTolerance);
            Assert.InRange(Math.Abs(p.Blue - expected[0, y, x, 2]), 0, CubeTolerance);
        }
    }

    [Fact]
    public void Batch_frames_become_grids()
    {
        using var a = TestImages.Pattern(4, 1, 3, 3);
        using var b = zeros(4, 1, 3, 3);
        var options = new GifOptions { Grid = new GridOptions { Padding = 1, Scale = 2 } };
        var bytes = Gif.Encode([a, b], options);
        var gif = GifStreamReader.Read(bytes);
        var layout = ImageGrid.Layout(4, 3, 3, options.Grid);
        Assert.Equal((layout.Width, layout.Height), (gif.Width, gif.Height));
        Assert.Equal(ImageGrid.Compose(a, options.Grid).Pixels, gif.Frames[0].Indices);
    }

    [Fact]
    public void Strict_reader_accepts_the_stream_and_recovers_every_index()
    {
        // 96×96 pseudo-random greys: far more than 4096 codes, so the table fills and clears several times.
        var noise = new float[96 * 96];
        for (var i = 0; i < noise.Length; i++) noise[i] = PixelConversion.ToUnit((byte)((uint)(i * 2654435761u) >> 13));
        using var random = TestImages.Make(noise, 1, 96, 96);
        using var flat = zeros(1, 96, 96); // long runs: long strings and slow code-width growth
        var bytes = Gif.Encode([random, flat], new GifOptions { DelayMs = 40, LastFrameDelayMs = null });

        var gif = GifStreamReader.Read(bytes);
        Assert.Equal(0, gif.LoopCount);
        Assert.Equal(2, gif.Frames.Count);
        Assert.Equal(new[] { 4, 4 }, gif.Frames.Select(f => f.DelayCs));
        Assert.Equal(ByteImages.FromTensor(random).Pixels, gif.Frames[0].Indices);
        Assert.All(gif.Frames[1].Indices, v => Assert.Equal(128, v));
        for (var i = 0; i < 256; i++) Assert.Equal((byte)i, gif.GlobalTable[3 * i + 1]);

        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        using var decoded = DecodeFrame(codec, 0);
        var expected = ByteImages.FromTensor(random).Pixels;
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], decoded.GetPixel(i % 96, i / 96).Red);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(254)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(700)]
    [InlineData(3839)]
    [InlineData(3840)]
    [InlineData(5000)]
    public void Lzw_round_trips_at_code_width_boundaries(int length)
    {
        // Counting data never repeats a pair soon, so each pixel costs about one code: lengths near 254..257 and
        // 3838..3840 put the last code and the end code right at a width change or a table reset.
        foreach (var data in new[]
                 {
                     Enumerable.Range(0, length).Select(i => (byte)(i * 7 + i / 256)).ToArray(),
                     Enumerable.Range(0, length).Select(i => (byte)((uint)(i * 2654435761u) >> 24)).ToArray(),
                     Enumerable.Range(0, length).Select(i => (byte)(i / 50 % 3)).ToArray(),
                 })
        {
            var stream = LzwEncoder.Compress(data, 8);
            Assert.Equal(data, GifStreamReader.Lzw(stream, 8, data.Length));
        }
    }

    [Fact]
    public void Delays_are_rounded_to_centiseconds()
    {
        Assert.Equal(0, GifEncoder.Centiseconds(0));
        Assert.Equal(1, GifEncoder.Centiseconds(5));
        Assert.Equal(10, GifEncoder.Centiseconds(104));
        Assert.Equal(65535, GifEncoder.Centiseconds(GifOptions.MaxDelayMs));
    }

    [Fact]
    public void Bad_input_is_rejected_clearly()
    {
        using var dir = new TempFolder();
        using var small = zeros(1, 4, 4);
        using var large = zeros(1, 5, 4);
        using var twoChannels = zeros(2, 4, 4);
        Assert.Throws<ArgumentException>(() => Gif.Encode([]));
        var mismatch = Assert.Throws<ArgumentException>(() => Gif.Encode([small, large]));
        Assert.Contains("frame 1", mismatch.Message);
        Assert.Throws<ArgumentException>(() => Gif.Encode([small, twoChannels]));
        Assert.Throws<ArgumentException>(() => Gif.Encode([small], new GifOptions { DelayMs = -1 }));
        Assert.Throws<ArgumentException>(() => Gif.Encode([small], new GifOptions { Grid = new GridOptions { Scale = 0 } }));

        var file = dir.File("file");
        File.WriteAllText(file, "x");
        var e = Assert.Throws<IOException>(() => Gif.Save([small], Path.Combine(file, "a.gif")));
        Assert.Contains(Path.Combine(file, "a.gif"), e.Message);
    }

    private static SKBitmap DecodeFrame(SKCodec codec, int frame)
    {
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels(), new SKCodecOptions(frame));
        Assert.Equal(SKCodecResult.Success, result);
        return bitmap;
    }
}
