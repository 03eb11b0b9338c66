using Ddpm.Data;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Data;

public sealed class DatasetsTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private void WriteIdxSplit(bool train, int count, int side)
    {
        File.WriteAllBytes(temp.WritableFile(IdxDataset.StandardFileName(train, labels: false)), TestData.Gzip(TestData.IdxImages(count, side, side)));
        File.WriteAllBytes(temp.WritableFile(IdxDataset.StandardFileName(train, labels: true)), TestData.Gzip(TestData.IdxLabels([.. Enumerable.Range(0, count).Select(i => i % 10)])));
    }

    [Fact]
    public void Opens_fashion_mnist_and_mnist_from_a_folder_with_the_standard_names()
    {
        WriteIdxSplit(train: true, count: 4, side: 6);
        WriteIdxSplit(train: false, count: 2, side: 6);

        var fashion = Datasets.Open(DatasetKind.FashionMnist, temp.Path);
        var digits = Datasets.Open(DatasetKind.Mnist, temp.Path, train: false);

        Assert.Equal(("fashion-mnist", 4, 1, 6, 6), (fashion.Name, fashion.Count, fashion.Channels, fashion.Height, fashion.Width));
        Assert.Equal("Trouser", fashion.ClassNames[fashion.GetLabel(1)]);
        Assert.Equal(("mnist", 2), (digits.Name, digits.Count));
    }

    [Fact]
    public void Another_size_or_channel_count_resizes_and_converts()
    {
        WriteIdxSplit(train: true, count: 2, side: 4);

        var dataset = Datasets.Open(DatasetKind.Mnist, temp.Path, imageSize: 8, channels: 3);

        Assert.Equal((3, 8, 8), (dataset.Channels, dataset.Height, dataset.Width));
        var bytes = dataset.GetBytes(1);
        Assert.Equal(bytes[..64].ToArray(), bytes[64..128].ToArray()); // grey repeated in R, G and B
        Assert.Equal(bytes[..64].ToArray(), bytes[128..].ToArray());
        Assert.Equal(1, dataset.GetLabel(1));
    }

    [Fact]
    public void Opens_cifar10_and_folders()
    {
        File.WriteAllBytes(temp.WritableFile("cifar/test_batch.bin"), TestData.CifarRecords(2));
        TestData.WriteImage(temp.WritableFile("pics/a.png"), 10, 10, (_, _) => SkiaSharp.SKColors.White);

        var cifar = Datasets.Open(DatasetKind.Cifar10, Path.Combine(temp.Path, "cifar"), train: false);
        var pics = Datasets.Open(DatasetKind.Folder, Path.Combine(temp.Path, "pics"));

        Assert.Equal((2, 3, 32), (cifar.Count, cifar.Channels, cifar.Height));
        Assert.Equal(("pics", 3, DataDefaults.FolderImageSize), (pics.Name, pics.Channels, pics.Height));
    }

    [Fact]
    public void Kinds_other_than_fashion_mnist_need_a_path()
    {
        Assert.Throws<ArgumentException>(() => Datasets.Open(DatasetKind.Mnist, null));
        Assert.Throws<ArgumentException>(() => Datasets.Open(DatasetKind.Cifar10, null));
        Assert.Throws<ArgumentException>(() => Datasets.Open(DatasetKind.Folder, " "));
    }

    [Fact]
    public void Random_flips_are_on_for_photos_and_off_for_digits_and_garments()
    {
        Assert.True(DataDefaults.RandomFlip(DatasetKind.Cifar10));
        Assert.True(DataDefaults.RandomFlip(DatasetKind.Folder));
        Assert.False(DataDefaults.RandomFlip(DatasetKind.FashionMnist));
        Assert.False(DataDefaults.RandomFlip(DatasetKind.Mnist));
    }

    [Fact]
    public void The_installed_fashion_mnist_test_split_loads_from_the_default_path()
    {
        if (!File.Exists(Path.Combine(DataDefaults.FashionMnistPath, IdxDataset.StandardFileName(train: false, labels: false)))) return; // not installed here

        var dataset = Datasets.Open(DatasetKind.FashionMnist, null, train: false);

        Assert.Equal((10_000, 1, 28, 28, 10), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        Assert.Equal("Ankle boot", dataset.ClassNames[dataset.GetLabel(0)]); // the first test image is an ankle boot
    }
}
