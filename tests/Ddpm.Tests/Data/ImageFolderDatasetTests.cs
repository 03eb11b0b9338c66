using Ddpm.Data;
using Ddpm.Tests.TestSupport;
using SkiaSharp;

namespace Ddpm.Tests.Data;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private static readonly SKColor Red = new(255, 0, 0);
    private static readonly SKColor Green = new(0, 255, 0);
    private static readonly SKColor Blue = new(0, 0, 255);

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>Columns 0..2 red, 9..11 blue, the central 6×6 square a pattern with (R, G, B) = (40x, 40y, 7).</summary>
    private static SKColor Wide(int x, int y) => x < 3 ? Red : x >= 9 ? Blue : new SKColor((byte)(40 * (x - 3)), (byte)(40 * y), 7);

    [Fact]
    public void A_wide_image_at_its_shorter_side_is_centre_cropped_exactly()
    {
        TestData.WriteImage(temp.WritableFile("wide.png"), 12, 6, Wide);

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 6);

        Assert.Equal((1, 3, 6, 6, 0), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        var bytes = dataset.GetBytes(0);
        for (var y = 0; y < 6; y++)
        {
            for (var x = 0; x < 6; x++)
            {
                Assert.Equal(40 * x, bytes[y * 6 + x]);          // R plane
                Assert.Equal(40 * y, bytes[36 + y * 6 + x]);     // G plane
                Assert.Equal(7, bytes[72 + y * 6 + x]);          // B plane
            }
        }
        Assert.Equal(-1f, TestData.Image(dataset, 0)[0]);
    }

    [Fact]
    public void A_larger_image_is_scaled_down_by_its_shorter_side_then_cropped()
    {
        // 24×12: red | green (the central 12×12) | blue. Shorter side 12 → 6 halves it; the centre is all green.
        TestData.WriteImage(temp.WritableFile("big.png"), 24, 12, (x, _) => x < 6 ? Red : x >= 18 ? Blue : Green);

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 6);

        var bytes = dataset.GetBytes(0);
        for (var p = 0; p < 36; p++)
        {
            Assert.InRange(bytes[p], 0, 2);           // no red bled in
            Assert.InRange(bytes[36 + p], 253, 255);  // green
            Assert.InRange(bytes[72 + p], 0, 2);      // no blue bled in
        }
    }

    [Fact]
    public void Shrinking_averages_fine_detail_instead_of_aliasing_it()
    {
        // A one-pixel black/white checkerboard shrunk 9×: each output pixel centre falls on one source pixel's centre, so
        // point or plain bilinear sampling would give pure black or white; area-aware filtering gives mid grey.
        TestData.WriteImage(temp.WritableFile("checker.png"), 72, 72, (x, y) => (x + y) % 2 == 0 ? SKColors.Black : SKColors.White);

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 8, channels: 1);

        Assert.All(Enumerable.Range(0, 64), p => Assert.InRange(dataset.GetBytes(0)[p], 100, 155));
    }

    [Fact]
    public void A_small_tall_image_is_scaled_up_by_its_shorter_side()
    {
        TestData.WriteImage(temp.WritableFile("tall.png"), 2, 4, (_, _) => new SKColor(90, 160, 230));

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 5);

        Assert.Equal((5, 5), (dataset.Height, dataset.Width));
        Assert.All(Enumerable.Range(0, 25), p => Assert.Equal(90, dataset.GetBytes(0)[p]));
        Assert.All(Enumerable.Range(0, 25), p => Assert.Equal(230, dataset.GetBytes(0)[50 + p]));
    }

    [Fact]
    public void Grey_is_the_BT601_luma_of_the_colour()
    {
        TestData.WriteImage(temp.WritableFile("wide.png"), 12, 6, Wide);

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 6, channels: 1);

        Assert.Equal(1, dataset.Channels);
        var bytes = dataset.GetBytes(0);
        for (var y = 0; y < 6; y++)
        {
            for (var x = 0; x < 6; x++)
            {
                var luma = (int)Math.Round(0.299 * 40 * x + 0.587 * 40 * y + 0.114 * 7);
                Assert.InRange(bytes[y * 6 + x], luma - 1, luma + 1);
            }
        }
    }

    [Fact]
    public void Subfolders_are_classes_in_sorted_order_and_files_are_sorted()
    {
        TestData.WriteImage(temp.WritableFile("dog/b.png"), 4, 4, (_, _) => new SKColor(30, 30, 30));
        TestData.WriteImage(temp.WritableFile("cat/z.png"), 4, 4, (_, _) => new SKColor(20, 20, 20));
        TestData.WriteImage(temp.WritableFile("cat/deeper/a.png"), 4, 4, (_, _) => new SKColor(10, 10, 10));
        TestData.WriteImage(temp.WritableFile("ant/c.jpg"), 4, 4, (_, _) => new SKColor(200, 200, 200), SKEncodedImageFormat.Jpeg);
        File.WriteAllBytes(temp.WritableFile("cat/notes.txt"), [1, 2, 3]);
        File.WriteAllBytes(temp.WritableFile("cat/._z.png"), [1, 2, 3]); // hidden (a macOS resource fork): skipped

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 4);

        Assert.Equal(["ant", "cat", "dog"], dataset.ClassNames);
        Assert.Equal([0, 1, 1, 2], Enumerable.Range(0, 4).Select(dataset.GetLabel));
        // ant/c.jpg (lossy), then cat/deeper/a.png before cat/z.png, then dog/b.png.
        Assert.InRange(dataset.GetBytes(0)[5], 192, 208);
        Assert.Equal([10, 20, 30], new[] { 1, 2, 3 }.Select(i => (int)dataset.GetBytes(i)[5]));
    }

    [Fact]
    public void Images_at_the_top_level_make_the_folder_unlabelled()
    {
        TestData.WriteImage(temp.WritableFile("top.png"), 4, 4, (_, _) => Red);
        TestData.WriteImage(temp.WritableFile("sub/inner.png"), 4, 4, (_, _) => Blue);

        var dataset = ImageFolderDataset.Load(temp.Path, imageSize: 4);

        Assert.Equal(2, dataset.Count);
        Assert.Equal(0, dataset.NumClasses);
        Assert.Equal(-1, dataset.GetLabel(1));
    }

    [Fact]
    public void An_undecodable_image_is_named()
    {
        TestData.WriteImage(temp.WritableFile("good.png"), 4, 4, (_, _) => Red);
        var bad = temp.WritableFile("bad.png");
        File.WriteAllBytes(bad, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3, 4, 5]);

        var e = Assert.Throws<DataException>(() => ImageFolderDataset.Load(temp.Path, imageSize: 4));

        Assert.StartsWith(bad + ": cannot decode image", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_or_missing_folder_is_named()
    {
        Directory.CreateDirectory(Path.Combine(temp.Path, "empty", "sub"));
        var empty = Path.Combine(temp.Path, "empty");
        var missing = Path.Combine(temp.Path, "missing");

        Assert.StartsWith(empty + ": no images found", Assert.Throws<DataException>(() => ImageFolderDataset.Load(empty, 8)).Message, StringComparison.Ordinal);
        Assert.Equal(missing + ": directory not found", Assert.Throws<DataException>(() => ImageFolderDataset.Load(missing, 8)).Message);
    }
}
