namespace Ddpm.Data;

/// <summary>The catalogue: opens a known data set by kind, with its default location and class names.</summary>
public static class Datasets
{
    /// <summary>Fashion-MNIST's classes, index = label (Xiao et al. 2017, Table 1).</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>MNIST's classes: the digits.</summary>
    public static IReadOnlyList<string> MnistClasses { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// Loads a data set completely into memory.
    /// </summary>
    /// <param name="kind">Which data set.</param>
    /// <param name="path">
    /// Its folder: for Fashion-MNIST and MNIST one holding <c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>,
    /// <c>t10k-…</c> (Fashion-MNIST defaults to <see cref="DataDefaults.FashionMnistPath"/>); for CIFAR-10 the binary
    /// batches; for a folder data set the image folder. Required except for Fashion-MNIST.
    /// </param>
    /// <param name="imageSize">
    /// Side of the square images. Null: the size stored in the files (28 for the IDX sets, 32 for CIFAR-10), or
    /// <see cref="DataDefaults.FolderImageSize"/> for folders. Another size resizes the shorter side and centre-crops, as
    /// for folders (e.g. 32 gives Fashion-MNIST a side divisible by 8).
    /// </param>
    /// <param name="train">The training split (true) or the test split; ignored for folders.</param>
    /// <param name="channels">1 or 3; null: the stored count (1 for the IDX sets, 3 for CIFAR-10), or <see cref="DataDefaults.FolderChannels"/> for folders. Grey is repeated to RGB, RGB becomes luma.</param>
    /// <exception cref="DataException">A file is missing, truncated or corrupt.</exception>
    /// <exception cref="ArgumentException">A required path is missing, or a size or channel count is invalid.</exception>
    public static ByteImageDataset Open(DatasetKind kind, string? path, int? imageSize = null, bool train = true, int? channels = null)
    {
        if (imageSize is < 1) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "The image size must be at least 1.");
        if (channels is not (null or 1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images have 1 (grey) or 3 (RGB) channels.");
        var dataset = kind switch
        {
            DatasetKind.FashionMnist => IdxDataset.LoadSplit(path ?? DataDefaults.FashionMnistPath, train, "fashion-mnist", FashionMnistClasses),
            DatasetKind.Mnist => IdxDataset.LoadSplit(Require(path, kind), train, "mnist", MnistClasses),
            DatasetKind.Cifar10 => Cifar10Dataset.Load(Require(path, kind), train),
            DatasetKind.Folder => ImageFolderDataset.Load(Require(path, kind), imageSize ?? DataDefaults.FolderImageSize, channels ?? DataDefaults.FolderChannels),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data set kind."),
        };
        return ImageResize.Reshape(dataset, imageSize, channels ?? dataset.Channels);
    }

    private static string Require(string? path, DatasetKind kind) =>
        string.IsNullOrWhiteSpace(path) ? throw new ArgumentException($"The {kind} data set needs a path to its folder.", nameof(path)) : path;
}
