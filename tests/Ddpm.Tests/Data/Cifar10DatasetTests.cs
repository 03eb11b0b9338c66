using Ddpm.Data;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Data;

public sealed class Cifar10DatasetTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Reads_label_then_red_green_blue_planes()
    {
        var file = temp.WritableFile("batch.bin");
        File.WriteAllBytes(file, TestData.CifarRecords(3, firstImage: 4));

        var dataset = Cifar10Dataset.Load([file]);

        Assert.Equal((3, 3, 32, 32, 10), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width, dataset.NumClasses));
        Assert.Equal([4, 5, 6], Enumerable.Range(0, 3).Select(dataset.GetLabel));
        Assert.Equal("deer", dataset.ClassNames[dataset.GetLabel(0)]);
        var image = TestData.Image(dataset, 1);
        Assert.Equal(-1f, image[0]);                  // R at (0, 0): 0
        Assert.Equal(1f, image[255]);                 // R at (7, 31): 255
        Assert.Equal(5 / 127.5 - 1, image[1024 + 100], 6); // G plane: the image number
        Assert.Equal(1f, image[2048]);                // B at (0, 0): 255
        Assert.Equal(255 - 33, TestData.ToByte(image[2048 + 33]));   // B at (1, 1)
    }

    [Fact]
    public void Loads_the_train_and_test_batches_of_a_folder_or_its_archive_subfolder()
    {
        var root = Path.Combine(temp.Path, Cifar10Dataset.ArchiveFolder);
        for (var b = 0; b < 5; b++) File.WriteAllBytes(temp.WritableFile(Path.Combine(root, $"data_batch_{b + 1}.bin")), TestData.CifarRecords(2, firstImage: 2 * b));
        File.WriteAllBytes(temp.WritableFile(Path.Combine(root, "test_batch.bin")), TestData.CifarRecords(1));

        var train = Cifar10Dataset.Load(temp.Path);
        var test = Cifar10Dataset.Load(root, train: false);

        Assert.Equal(10, train.Count);
        Assert.Equal(Enumerable.Range(0, 10), Enumerable.Range(0, 10).Select(train.GetLabel)); // batches in order
        Assert.Equal(1, test.Count);
        Assert.Equal("cifar10", train.Name);
    }

    [Fact]
    public void A_missing_batch_is_named()
    {
        for (var b = 1; b <= 5; b++)
        {
            if (b != 3) File.WriteAllBytes(temp.WritableFile($"data_batch_{b}.bin"), TestData.CifarRecords(1));
        }

        var e = Assert.Throws<DataException>(() => Cifar10Dataset.Load(temp.Path));

        Assert.Equal($"{Path.Combine(temp.Path, "data_batch_3.bin")}: not found", e.Message);
    }

    [Fact]
    public void A_truncated_batch_gives_expected_and_found_sizes()
    {
        var file = temp.WritableFile("data_batch_1.bin");
        File.WriteAllBytes(file, TestData.CifarRecords(2)[..5000]);

        var e = Assert.Throws<DataException>(() => Cifar10Dataset.Load([file]));

        Assert.Equal($"{file}: truncated: expected 6146 bytes (2 records of 3073), found 5000", e.Message);
    }

    [Fact]
    public void A_bad_label_or_an_empty_file_is_an_error()
    {
        var bad = temp.WritableFile("bad.bin");
        var records = TestData.CifarRecords(2);
        records[Cifar10Dataset.RecordSize] = 200; // label of record 1
        File.WriteAllBytes(bad, records);
        var empty = temp.WritableFile("empty.bin");
        File.WriteAllBytes(empty, []);

        Assert.Equal($"{bad}: record 1: label 200 is outside 0..9", Assert.Throws<DataException>(() => Cifar10Dataset.Load([bad])).Message);
        Assert.Equal($"{empty}: empty file", Assert.Throws<DataException>(() => Cifar10Dataset.Load([empty])).Message);
    }

    [Fact]
    public void A_missing_folder_is_named()
    {
        var folder = Path.Combine(temp.Path, "no-such-folder");

        var e = Assert.Throws<DataException>(() => Cifar10Dataset.Load(folder));

        Assert.Equal($"{folder}: directory not found", e.Message);
    }
}
