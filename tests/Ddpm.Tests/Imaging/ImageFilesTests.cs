using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Imaging;

public class ImageFilesTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Save_then_load_gives_the_image_back_within_one_step(int channels)
    {
        using var dir = new TempFolder();
        using var image = rand(channels, 5, 7, generator: new Generator(42)) * 2 - 1;
        var path = dir.File("image.png");
        ImageFiles.SavePng(image, path);
        using var loaded = ImageFiles.Load(path);
        Assert.Equal(new long[] { channels, 5, 7 }, loaded.shape);
        Assert.Equal(ScalarType.Float32, loaded.dtype);
        Assert.True(loaded.allclose(image, rtol: 0, atol: TestImages.RoundTripTolerance));
    }

    [Fact]
    public void Saved_grey_png_has_exact_bytes()
    {
        using var dir = new TempFolder();
        using var image = TestImages.Make([-1f, 0f, 1f, -0.5f], 1, 1, 2, 2);
        var path = dir.File("grey.png");
        ImageFiles.SavePng(image, path);
        var bytes = ImageFiles.LoadBytes(path);
        Assert.Equal(1, bytes.Channels);
        Assert.Equal(new byte[] { 0, 128, 255, 64 }, bytes.Pixels);
    }

    [Fact]
    public void Load_can_force_channels()
    {
        using var dir = new TempFolder();
        var path = dir.File("rgb.png");
        // Pure red, green and blue pixels, then grey 128.
        using var image = TestImages.Make([1f, -1f, -1f, 0f, -1f, 1f, -1f, 0f, -1f, -1f, 1f, 0f], 3, 1, 4);
        ImageFiles.SavePng(image, path);
        var grey = ImageFiles.LoadBytes(path, channels: 1);
        Assert.Equal(new byte[] { 76, 150, 29, 128 }, grey.Pixels); // BT.601 luma of 255 red, green, blue
        using var greyImage = TestImages.Make([0.5f], 1, 1, 1);
        var greyFile = dir.File("one.png");
        ImageFiles.SavePng(greyImage, greyFile);
        using var asRgb = ImageFiles.Load(greyFile, channels: 3);
        Assert.Equal(new long[] { 3, 1, 1 }, asRgb.shape);
        Assert.Equal(191, PixelConversion.ToByte(asRgb[2, 0, 0].item<float>()));
    }

    [Fact]
    public void SaveEach_writes_zero_padded_numbered_files()
    {
        using var dir = new TempFolder();
        using var images = TestImages.Pattern(3, 1, 4, 4);
        var paths = ImageFiles.SaveEach(images, dir.File("out"), "sample", startIndex: 98);
        var names = paths.Select(Path.GetFileName).ToArray();
        Assert.Equal(new[] { "sample-00098.png", "sample-00099.png", "sample-00100.png" }, names);
        Assert.Equal(names.Order(), Directory.GetFiles(dir.File("out")).Select(Path.GetFileName).Order());
        var third = ImageFiles.LoadBytes(paths[2]);
        Assert.Equal(TestImages.PatternByte(2, 0, 3, 1, 4), third[0, 3, 1, 0]);
        Assert.Equal("x-123456.png", ImageFiles.FileName("x", 123456));
    }

    [Fact]
    public void SavePng_rejects_batches_and_bad_shapes()
    {
        using var dir = new TempFolder();
        using var batch = zeros(2, 1, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => ImageFiles.SavePng(batch, dir.File("a.png")));
        Assert.Contains("SaveEach", e.Message);
        using var twoChannels = zeros(2, 4, 4);
        Assert.Throws<ArgumentException>(() => ImageFiles.SavePng(twoChannels, dir.File("b.png")));
        Assert.Throws<ArgumentException>(() => ImageFiles.SaveEach(batch, dir.Path, "../evil"));
        Assert.Throws<ArgumentException>(() => ImageFiles.SaveEach(batch, dir.Path, "s", -1));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Unwritable_path_gives_an_IOException_naming_it()
    {
        using var dir = new TempFolder();
        var file = dir.File("plain-file");
        File.WriteAllText(file, "not a directory");
        using var image = zeros(1, 4, 4);
        var target = Path.Combine(file, "sub", "image.png");
        var e = Assert.Throws<IOException>(() => ImageFiles.SavePng(image, target));
        Assert.Contains(target, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Loading_a_missing_or_non_image_file_fails_clearly()
    {
        using var dir = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => ImageFiles.Load(dir.File("missing.png")));
        var text = dir.File("text.png");
        File.WriteAllText(text, "this is not a PNG");
        var e = Assert.Throws<InvalidDataException>(() => ImageFiles.Load(text));
        Assert.Contains(text, e.Message);
        Assert.Throws<ArgumentException>(() => ImageFiles.Load(text, channels: 2));
    }

    [Fact]
    public void Load_reads_the_first_frame_of_a_gif()
    {
        using var dir = new TempFolder();
        var path = dir.File("anim.gif");
        using var first = TestImages.Pattern(1, 1, 3, 3);
        using var second = zeros(1, 1, 3, 3);
        Gif.Save([first, second], path);
        var bytes = ImageFiles.LoadBytes(path, channels: 1);
        Assert.Equal(ByteImages.FromTensor(first).Pixels, bytes.Pixels);
    }
}
