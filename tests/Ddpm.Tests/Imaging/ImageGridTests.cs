using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Imaging;

public class ImageGridTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 2, 1)]
    [InlineData(4, 2, 2)]
    [InlineData(5, 3, 2)]
    [InlineData(9, 3, 3)]
    [InlineData(10, 4, 3)]
    [InlineData(16, 4, 4)]
    [InlineData(17, 5, 4)]
    [InlineData(64, 8, 8)]
    public void Default_columns_are_the_ceiling_of_the_square_root(int count, int columns, int rows)
    {
        var layout = ImageGrid.Layout(count, 28, 28);
        Assert.Equal((columns, rows), (layout.Columns, layout.Rows));
        Assert.Equal(columns * 28 + (columns + 1) * 2, layout.Width);
        Assert.Equal(rows * 28 + (rows + 1) * 2, layout.Height);
    }

    [Fact]
    public void Columns_padding_and_scale_set_the_size()
    {
        var layout = ImageGrid.Layout(7, 5, 6, new GridOptions { Columns = 3, Padding = 1, Scale = 4 });
        Assert.Equal((3, 3, 24, 20), (layout.Columns, layout.Rows, layout.CellWidth, layout.CellHeight));
        Assert.Equal(3 * 24 + 4 * 1, layout.Width);
        Assert.Equal(3 * 20 + 4 * 1, layout.Height);
        Assert.Equal((1 + 25, 1 + 21), (layout.Left(4), layout.Top(4)));

        // More columns than images: the grid is one row of exactly the images.
        Assert.Equal(2, ImageGrid.Layout(2, 5, 5, new GridOptions { Columns = 8 }).Columns);
        var tight = ImageGrid.Layout(6, 5, 5, new GridOptions { Columns = 6, Padding = 0 });
        Assert.Equal((30, 5), (tight.Width, tight.Height));
    }

    [Fact]
    public void Grey_grid_places_images_padding_and_empty_cells()
    {
        // Three 2×2 grey images with values −1 (0), 0 (128), 1 (255), in a 2-column grid on black padding.
        using var images = cat([full(1, 1, 2, 2, -1f), full(1, 1, 2, 2, 0f), full(1, 1, 2, 2, 1f)], 0);
        var grid = ImageGrid.Compose(images, new GridOptions { Padding = 1, PaddingColor = SKColors.Black });
        Assert.Equal((1, 1, 7, 7), (grid.Count, grid.Channels, grid.Height, grid.Width));
        Assert.Equal(0, grid[0, 0, 0, 0]);     // padding
        Assert.Equal(0, grid[0, 1, 1, 0]);     // image 0
        Assert.Equal(128, grid[0, 1, 4, 0]);   // image 1
        Assert.Equal(128, grid[0, 2, 5, 0]);
        Assert.Equal(0, grid[0, 3, 4, 0]);     // padding between rows
        Assert.Equal(255, grid[0, 4, 1, 0]);   // image 2
        Assert.Equal(0, grid[0, 4, 4, 0]);     // empty cell takes the padding colour
    }

    [Fact]
    public void Default_padding_is_white_and_scale_repeats_pixels()
    {
        using var image = TestImages.Pattern(1, 1, 2, 2);
        var grid = ImageGrid.Compose(image, new GridOptions { Scale = 3 });
        Assert.Equal((10, 10), (grid.Height, grid.Width));
        Assert.Equal(255, grid[0, 0, 0, 0]);
        Assert.Equal(255, grid[0, 9, 9, 0]);
        for (var y = 0; y < 6; y++)
        for (var x = 0; x < 6; x++)
            Assert.Equal(TestImages.PatternByte(0, 0, y / 3, x / 3, 2), grid[0, 2 + y, 2 + x, 0]);
    }

    [Fact]
    public void Rgb_grid_keeps_channels_and_coloured_padding_promotes_grey()
    {
        using var rgb = TestImages.Pattern(2, 3, 2, 2);
        var grid = ImageGrid.Compose(rgb, new GridOptions { PaddingColor = new SKColor(10, 20, 30) });
        Assert.Equal(3, grid.Channels);
        Assert.Equal(new byte[] { 10, 20, 30 }, new[] { grid[0, 0, 0, 0], grid[0, 0, 0, 1], grid[0, 0, 0, 2] });
        Assert.Equal(TestImages.PatternByte(1, 2, 1, 0, 2), grid[0, 3, 6, 2]); // image 1 starts at x = 2 + 2 + 2

        using var grey = TestImages.Pattern(1, 1, 2, 2);
        var promoted = ImageGrid.Compose(grey, new GridOptions { PaddingColor = SKColors.Red });
        Assert.Equal(3, promoted.Channels);
        var v = TestImages.PatternByte(0, 0, 0, 1, 2);
        Assert.Equal(new[] { v, v, v }, new[] { promoted[0, 2, 3, 0], promoted[0, 2, 3, 1], promoted[0, 2, 3, 2] });
        Assert.Equal(new byte[] { 255, 0, 0 }, new[] { promoted[0, 0, 0, 0], promoted[0, 0, 0, 1], promoted[0, 0, 0, 2] });
    }

    [Fact]
    public void SavePng_writes_a_png_of_the_grid_size()
    {
        using var dir = new TempFolder();
        using var images = TestImages.Pattern(5, 3, 4, 4);
        var path = dir.File("nested/grid.png");
        ImageGrid.SavePng(images, path, new GridOptions { Scale = 2 });
        using var bitmap = SKBitmap.Decode(path);
        var layout = ImageGrid.Layout(5, 4, 4, new GridOptions { Scale = 2 });
        Assert.Equal((layout.Width, layout.Height), (bitmap.Width, bitmap.Height));
        Assert.Equal(SKColors.White, bitmap.GetPixel(0, 0));
        Assert.Equal(
            new SKColor(TestImages.PatternByte(0, 0, 0, 0, 4), TestImages.PatternByte(0, 1, 0, 0, 4), TestImages.PatternByte(0, 2, 0, 0, 4)),
            bitmap.GetPixel(3, 3));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left
    }

    [Theory]
    [InlineData(0, 2, 1)]
    [InlineData(2, -1, 1)]
    [InlineData(2, 2, 0)]
    [InlineData(2, 2, 65)]
    public void Invalid_options_are_rejected(int columns, int padding, int scale)
    {
        var options = new GridOptions { Columns = columns, Padding = padding, Scale = scale };
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.Layout(4, 8, 8, options));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Empty_batches_are_rejected()
    {
        using var none = zeros(0, 1, 4, 4);
        Assert.Throws<ArgumentException>(() => ImageGrid.Compose(none));
        Assert.Throws<ArgumentException>(() => ImageGrid.Layout(0, 4, 4));
    }
}
