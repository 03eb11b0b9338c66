using System.Globalization;
using Ddpm.Imaging;
using static TorchSharp.torch;

namespace Ddpm.Data;

/// <summary>
/// One image named on a command line: an image file (PNG, JPEG, …) or <c>DATASET:SPLIT:INDEX</c>, e.g.
/// <c>fashion-mnist:test:0</c> (a data set of <see cref="DatasetNames"/> other than <c>folder</c>, split <c>train</c> or
/// <c>test</c>, a 0-based index).
/// </summary>
public static class ImageSource
{
    /// <summary>
    /// Loads the image <paramref name="source"/> names as a float32 [C, H, W] CPU tensor in [−1, 1] with
    /// <paramref name="channels"/> channels (grey and colour are converted as <see cref="ImageFiles.Load"/> does).
    /// An image file must be <paramref name="size"/>×<paramref name="size"/> already; a data set's image is resized to it
    /// as for training (<see cref="Datasets.Open"/>).
    /// </summary>
    /// <param name="source">The file or <c>DATASET:SPLIT:INDEX</c>.</param>
    /// <param name="channels">1 or 3.</param>
    /// <param name="size">Side of the square images the model takes.</param>
    /// <param name="dataPath">Where the data set is (null: its default, which only Fashion-MNIST has).</param>
    /// <exception cref="ArgumentException">A malformed source, an index out of range, or an image of another size.</exception>
    /// <exception cref="FileNotFoundException">The image file does not exist.</exception>
    /// <exception cref="DataException">The data set's files are missing or corrupt.</exception>
    public static Tensor Load(string source, int channels, int size, string? dataPath = null)
    {
        if (string.IsNullOrWhiteSpace(source)) throw new ArgumentException("An image source must not be empty.", nameof(source));
        return TryParseDataset(source) is { } item ? LoadFromDataset(item, channels, size, dataPath) : LoadFile(source, channels, size);
    }

    /// <summary>
    /// Loads every image <paramref name="source"/> names: an image file, <c>DATASET:SPLIT:INDEX</c>, or a range
    /// <c>DATASET:SPLIT:FIRST-LAST</c> (both ends included, e.g. <c>fashion-mnist:test:0-499</c>), as float32
    /// [N, C, H, W] in [−1, 1] with a name for each image and, for a labelled data set, its class.
    /// </summary>
    public static LoadedImages LoadMany(string source, int channels, int size, string? dataPath = null)
    {
        if (string.IsNullOrWhiteSpace(source)) throw new ArgumentException("An image source must not be empty.", nameof(source));
        var parts = source.Split(':');
        if (parts.Length == 3 && parts[2].Contains('-', StringComparison.Ordinal) && DatasetNames.TryParse(parts[0]) is { } kind && kind != DatasetKind.Folder)
        {
            var bounds = parts[2].Split('-');
            if (bounds.Length != 2 || !int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last < first)
                throw new ArgumentException($"{source}: a range is FIRST-LAST with 0 ≤ FIRST ≤ LAST (got '{parts[2]}').");
            var item = TryParseDataset($"{parts[0]}:{parts[1]}:{first}")!;
            var data = Datasets.Open(item.Kind, dataPath, size, item.Train, channels);
            if (last >= data.Count)
                throw new ArgumentException($"{source}: the {(item.Train ? "train" : "test")} split of {data.Name} has {data.Count} images (indices 0..{data.Count - 1}).");
            var count = last - first + 1;
            var names = Enumerable.Range(first, count).Select(i => $"{parts[0]}:{parts[1]}:{i}").ToList();
            var labels = data.NumClasses > 0 ? Enumerable.Range(first, count).Select(data.GetLabel).ToList() : null;
            return new LoadedImages(DatasetImages.Read(data, first, count), names, labels);
        }
        var dataset = TryParseDataset(source);
        using var image = Load(source, channels, size, dataPath);
        int? label = null;
        if (dataset is not null)
        {
            var data = Datasets.Open(dataset.Kind, dataPath, size, dataset.Train, channels);
            if (data.NumClasses > 0) label = data.GetLabel(dataset.Index);
        }
        return new LoadedImages(image.unsqueeze(0), [source], label is { } l ? [l] : null);
    }

    private static Tensor LoadFile(string path, int channels, int size)
    {
        var image = ImageFiles.Load(path, channels);
        if (image.shape[1] != size || image.shape[2] != size)
        {
            var found = $"{image.shape[2]}×{image.shape[1]}";
            image.Dispose();
            throw new ArgumentException($"'{path}' is {found} pixels; the model takes {size}×{size} images.");
        }
        return image;
    }

    private static Tensor LoadFromDataset(DatasetItem item, int channels, int size, string? dataPath)
    {
        var data = Datasets.Open(item.Kind, dataPath, size, item.Train, channels);
        if (item.Index >= data.Count)
            throw new ArgumentException($"{item.Text}: the {(item.Train ? "train" : "test")} split of {data.Name} has {data.Count} images (indices 0..{data.Count - 1}).");
        var pixels = new float[data.Channels * data.Height * data.Width];
        data.CopyImage(item.Index, pixels);
        return tensor(pixels, [data.Channels, data.Height, data.Width], ScalarType.Float32);
    }

    /// <summary>The data set item <paramref name="source"/> names, or null when it names a file (no two colons, or an unknown data set).</summary>
    private static DatasetItem? TryParseDataset(string source)
    {
        var parts = source.Split(':');
        if (parts.Length != 3 || DatasetNames.TryParse(parts[0]) is not { } kind || kind == DatasetKind.Folder) return null;
        var split = parts[1].ToLowerInvariant();
        if (split is not ("train" or "test"))
            throw new ArgumentException($"{source}: the split must be train or test (got '{parts[1]}').");
        if (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new ArgumentException($"{source}: the index must be a non-negative integer (got '{parts[2]}').");
        return new DatasetItem(source, kind, split == "train", index);
    }

    private sealed record DatasetItem(string Text, DatasetKind Kind, bool Train, int Index);
}

/// <summary>Images named on a command line (<see cref="ImageSource.LoadMany"/>): float32 [N, C, H, W] in [−1, 1], their names, and their classes when known.</summary>
public sealed record LoadedImages(Tensor Images, IReadOnlyList<string> Names, IReadOnlyList<int>? Labels) : IDisposable
{
    /// <summary>The number of images.</summary>
    public int Count => Names.Count;

    /// <summary>Disposes the images.</summary>
    public void Dispose() => Images.Dispose();
}
