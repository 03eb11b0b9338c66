using Ddpm.Data;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Data;

public sealed class IdxDatasetTests : IDisposable
{
    private const int Count = 3;
    private const int Rows = 4;
    private const int Columns = 5;
    private static readonly int[] Labels = [7, 0, 9];

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private (string Images, string Labels) Write(bool gzip, string imagesName = "images-idx3-ubyte", string labelsName = "labels-idx1-ubyte")
    {
        var images = temp.WritableFile(imagesName);
        var labels = temp.WritableFile(labelsName);
        var imageBytes = TestData.IdxImages(Count, Rows, Columns);
        var labelBytes = TestData.IdxLabels(Labels);
        File.WriteAllBytes(images, gzip ? TestData.Gzip(imageBytes) : imageBytes);
        File.WriteAllBytes(labels, gzip ? TestData.Gzip(labelBytes) : labelBytes);
        return (images, labels);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Loads_images_and_labels_with_exact_pixel_values(bool gzip)
    {
        var (images, labels) = Write(gzip);

        var dataset = IdxDataset.Load(images, labels);

        Assert.Equal((Count, 1, Rows, Columns, 10), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        Assert.Equal(Labels, Enumerable.Range(0, Count).Select(dataset.GetLabel));
        for (var i = 0; i < Count; i++)
        {
            var image = TestData.Image(dataset, i);
            Assert.Equal(-1f, image[0]);  // byte 0
            Assert.Equal(1f, image[1]);   // byte 255
            for (var p = 0; p < image.Length; p++) Assert.Equal(TestData.Pixel(i, p) / 127.5f - 1f, image[p], 6);
        }
        // Image 2, row 3, column 4 (the last pixel): byte (2·37 + 19·11) % 256 = 27.
        Assert.Equal(27, TestData.Pixel(2, 3 * Columns + 4));
        Assert.Equal(27 / 127.5 - 1, TestData.Image(dataset, 2)[3 * Columns + 4], 6);
    }

    [Fact]
    public void Detects_gzip_by_content_not_by_name()
    {
        var (images, labels) = Write(gzip: true, "gzipped-without-suffix", "raw.gz");
        File.WriteAllBytes(labels, TestData.IdxLabels(Labels)); // raw bytes in a file named .gz

        var dataset = IdxDataset.Load(images, labels);

        Assert.Equal(Count, dataset.Count);
        Assert.Equal(9, dataset.GetLabel(2));
    }

    [Fact]
    public void Without_labels_the_data_set_is_unlabelled()
    {
        var (images, _) = Write(gzip: true);

        var dataset = IdxDataset.Load(images);

        Assert.Equal(0, dataset.NumClasses);
        Assert.Equal(-1, dataset.GetLabel(0));
        Assert.Equal("images-idx3-ubyte", dataset.Name);
    }

    [Fact]
    public void Loads_a_split_by_its_standard_file_names()
    {
        File.WriteAllBytes(temp.WritableFile("t10k-images-idx3-ubyte.gz"), TestData.Gzip(TestData.IdxImages(Count, Rows, Columns)));
        File.WriteAllBytes(temp.WritableFile("t10k-labels-idx1-ubyte"), TestData.IdxLabels(Labels)); // raw, without .gz

        var dataset = IdxDataset.LoadSplit(temp.Path, train: false, "digits", Datasets.MnistClasses);

        Assert.Equal("digits", dataset.Name);
        Assert.Equal(Count, dataset.Count);
        Assert.Equal("7", dataset.ClassNames[dataset.GetLabel(0)]);
        var missing = Assert.Throws<DataException>(() => IdxDataset.LoadSplit(temp.Path, train: true, "digits"));
        Assert.Contains("train-images-idx3-ubyte.gz", missing.Message);
    }

    [Fact]
    public void Bad_magic_names_the_file()
    {
        var (images, labels) = Write(gzip: true);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(labels, images)); // swapped

        Assert.Contains("labels-idx1-ubyte", e.Message);
        Assert.Contains("bad magic", e.Message);
        Assert.Equal(labels, e.Path);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Truncated_images_give_expected_and_found_sizes(bool gzip)
    {
        var images = temp.WritableFile("train-images-idx3-ubyte.gz");
        var full = TestData.IdxImages(Count, Rows, Columns);
        var cut = full[..(full.Length - 7)];
        File.WriteAllBytes(images, gzip ? TestData.Gzip(cut) : cut);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images));

        Assert.Equal($"{images}: truncated: expected {full.Length} bytes, found {cut.Length}", e.Message);
    }

    [Fact]
    public void Trailing_bytes_are_an_error()
    {
        var images = temp.WritableFile("images");
        File.WriteAllBytes(images, [.. TestData.IdxImages(Count, Rows, Columns), 1, 2, 3]);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images));

        Assert.Contains("images: wrong size", e.Message);
    }

    [Fact]
    public void A_header_shorter_than_its_magic_number_is_truncated()
    {
        var images = temp.WritableFile("tiny");
        File.WriteAllBytes(images, [0, 0]);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images));

        Assert.Contains("tiny: truncated", e.Message);
    }

    [Fact]
    public void Wrong_label_count_names_the_labels_file()
    {
        var (images, labels) = Write(gzip: false);
        File.WriteAllBytes(labels, TestData.IdxLabels([1, 2]));

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images, labels));

        Assert.StartsWith(labels + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains("2 labels for 3 images", e.Message);
    }

    [Fact]
    public void A_label_outside_the_classes_is_an_error()
    {
        var (images, labels) = Write(gzip: false);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images, labels, classNames: ["a", "b", "c"]));

        Assert.Contains("label 7 of item 0 is outside 0..2", e.Message);
    }

    [Fact]
    public void Garbage_after_the_gzip_magic_is_bad_gzip()
    {
        var images = temp.WritableFile("garbage.gz");
        File.WriteAllBytes(images, [0x1f, 0x8b, .. Enumerable.Range(0, 200).Select(i => (byte)(i * 97))]);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images));

        Assert.Contains("garbage.gz", e.Message);
    }

    [Fact]
    public void A_cut_gzip_stream_is_an_error()
    {
        var images = temp.WritableFile("cut.gz");
        var gz = TestData.Gzip(TestData.IdxImages(50, 8, 8));
        File.WriteAllBytes(images, gz[..(gz.Length / 2)]);

        var e = Assert.Throws<DataException>(() => IdxDataset.Load(images));

        Assert.Contains("cut.gz", e.Message);
    }

    [Fact]
    public void Missing_and_empty_files_name_the_file()
    {
        var missing = Path.Combine(temp.Path, "nowhere-idx3-ubyte.gz");
        var empty = temp.WritableFile("empty");
        File.WriteAllBytes(empty, []);

        Assert.Equal($"{missing}: not found", Assert.Throws<DataException>(() => IdxDataset.Load(missing)).Message);
        Assert.Contains("empty: truncated", Assert.Throws<DataException>(() => IdxDataset.Load(empty)).Message);
    }
}
