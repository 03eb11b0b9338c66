using Ddpm.Data;

namespace Ddpm.Tests.Data;

public sealed class ByteImageDatasetTests
{
    [Fact]
    public void Bytes_map_linearly_onto_minus_one_to_one()
    {
        Assert.Equal(-1f, PixelScaling.ToModelRange(0));
        Assert.Equal(1f, PixelScaling.ToModelRange(255));
        Assert.Equal((float)(128 / 127.5 - 1), PixelScaling.ToModelRange(128));
        var all = Enumerable.Range(0, 256).Select(b => PixelScaling.ToModelRange((byte)b)).ToArray();
        Assert.Equal(all.Order(), all); // increasing
    }

    [Fact]
    public void Copies_chw_bytes_and_reports_labels()
    {
        byte[] first = [0, 255, 51, 102, 153, 204];
        var dataset = new ByteImageDataset("mine", 3, 1, 2, [first, new byte[6]], [1, 0], ["no", "yes"]);

        var image = TestData.Image(dataset, 0);

        Assert.Equal([-1f, 1f, (float)(51 / 127.5 - 1), (float)(102 / 127.5 - 1), (float)(153 / 127.5 - 1), (float)(204 / 127.5 - 1)], image);
        Assert.Equal((2, 2, "yes"), (dataset.NumClasses, dataset.Count, dataset.ClassNames[dataset.GetLabel(0)]));
    }

    [Fact]
    public void Without_class_names_the_classes_are_numbered_up_to_the_largest_label()
    {
        var dataset = new ByteImageDataset("n", 1, 1, 1, [[1], [2]], [0, 4]);

        Assert.Equal(5, dataset.NumClasses);
        Assert.Equal("4", dataset.ClassNames[4]);
    }

    [Fact]
    public void Rejects_inconsistent_input()
    {
        Assert.Throws<ArgumentException>(() => new ByteImageDataset("x", 1, 2, 2, [new byte[3]]));
        Assert.Throws<ArgumentException>(() => new ByteImageDataset("x", 1, 1, 1, [[1]], [0, 1]));
        Assert.Throws<ArgumentException>(() => new ByteImageDataset("x", 1, 1, 1, [[1]], [2], ["a", "b"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ByteImageDataset("x", 2, 1, 1, [new byte[2]]));
        var dataset = new ByteImageDataset("x", 1, 1, 2, [[1, 2]]);
        Assert.Throws<ArgumentException>(() => dataset.CopyImage(0, new float[3]));
    }
}
