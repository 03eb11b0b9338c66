using Ddpm.Data;
using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Data;

/// <summary>Images named on a command line: a file of the model's size or DATASET:SPLIT:INDEX, and one-line refusals.</summary>
public sealed class ImageSourceTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly string mnist;

    public ImageSourceTests()
    {
        mnist = temp.File("mnist");
        Directory.CreateDirectory(mnist);
        File.WriteAllBytes(Path.Combine(mnist, "t10k-images-idx3-ubyte"), TestData.IdxImages(4, 8, 8));
        File.WriteAllBytes(Path.Combine(mnist, "t10k-labels-idx1-ubyte"), TestData.IdxLabels([0, 1, 2, 3]));
    }

    [Fact]
    public void A_data_set_item_and_a_file_load_as_images_of_the_model()
    {
        using var scope = NewDisposeScope();
        var item = ImageSource.Load("mnist:test:2", 1, 8, mnist);
        var dataset = Datasets.Open(DatasetKind.Mnist, mnist, 8, train: false, 1);
        Assert.Equal(TestData.Image(dataset, 2), item.flatten().data<float>().ToArray());

        var file = temp.File("image.png");
        ImageFiles.SavePng(item, file);
        var loaded = ImageSource.Load(file, 1, 8);
        Assert.Equal([1L, 8, 8], loaded.shape);
        Assert.True(loaded.allclose(item));
        Assert.Equal([3L, 8, 8], ImageSource.Load(file, 3, 8).shape);
    }

    [Fact]
    public void A_missing_file_an_index_out_of_range_and_a_wrong_size_are_refused_with_one_line()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => ImageSource.Load(temp.File("nothing.png"), 1, 8));
        Assert.Contains("nothing.png", missing.Message);
        var range = Assert.Throws<ArgumentException>(() => ImageSource.Load("mnist:test:4", 1, 8, mnist));
        Assert.Contains("4 images", range.Message);
        var file = temp.File("big.png");
        TestData.WriteImage(file, 10, 10, (_, _) => SKColors.Gray);
        var size = Assert.Throws<ArgumentException>(() => ImageSource.Load(file, 1, 8));
        Assert.Contains("10×10", size.Message);
        Assert.Contains("split", Assert.Throws<ArgumentException>(() => ImageSource.Load("mnist:valid:0", 1, 8, mnist)).Message);
        Assert.Contains("index", Assert.Throws<ArgumentException>(() => ImageSource.Load("mnist:test:-1", 1, 8, mnist)).Message);
        foreach (var e in new Exception[] { missing, range, size }) Assert.DoesNotContain('\n', e.Message);
    }

    public void Dispose() => temp.Dispose();
}
