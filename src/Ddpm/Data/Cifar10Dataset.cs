namespace Ddpm.Data;

/// <summary>
/// Loads the CIFAR-10 binary version (Krizhevsky 2009): files of 3073-byte records, each one label byte followed by a
/// 32×32 image as the 1024 red bytes, then 1024 green, then 1024 blue, rows top to bottom.
/// </summary>
public static class Cifar10Dataset
{
    /// <summary>Image side in pixels.</summary>
    public const int ImageSide = 32;

    /// <summary>Channels per image (RGB).</summary>
    public const int Channels = 3;

    /// <summary>Bytes per record: one label byte and 3·32·32 pixel bytes.</summary>
    public const int RecordSize = 1 + Channels * ImageSide * ImageSide;

    /// <summary>The subfolder the official archive (<c>cifar-10-binary.tar.gz</c>) unpacks to; searched when the batches are not found directly.</summary>
    public const string ArchiveFolder = "cifar-10-batches-bin";

    /// <summary>The ten classes, index = label, as in the archive's <c>batches.meta.txt</c>.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The training batches, 10 000 images each.</summary>
    public static IReadOnlyList<string> TrainFiles { get; } =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

    /// <summary>The test batch, 10 000 images.</summary>
    public static IReadOnlyList<string> TestFiles { get; } = ["test_batch.bin"];

    /// <summary>
    /// Loads the training (<c>data_batch_1.bin</c>…<c>data_batch_5.bin</c>) or test (<c>test_batch.bin</c>) split from
    /// <paramref name="directory"/>, or from its <c>cifar-10-batches-bin</c> subfolder.
    /// </summary>
    /// <exception cref="DataException">The folder or a batch is missing, truncated or corrupt.</exception>
    public static ByteImageDataset Load(string directory, bool train = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        DataFiles.RequireDirectory(directory);
        var names = train ? TrainFiles : TestFiles;
        var nested = Path.Combine(directory, ArchiveFolder);
        if (!File.Exists(Path.Combine(directory, names[0])) && File.Exists(Path.Combine(nested, names[0]))) directory = nested;
        return Load(names.Select(n => Path.Combine(directory, n)));
    }

    /// <summary>Loads and concatenates the given batch files, in order.</summary>
    /// <exception cref="DataException">A file is missing, truncated or corrupt.</exception>
    public static ByteImageDataset Load(IEnumerable<string> files, string name = "cifar10")
    {
        ArgumentNullException.ThrowIfNull(files);
        var paths = files.ToList();
        if (paths.Count == 0) throw new ArgumentException("At least one CIFAR-10 batch file is needed.", nameof(files));
        foreach (var path in paths) DataFiles.RequireFile(path); // fail on a missing file before reading the others
        var images = new List<byte[]>();
        var labels = new List<int>();
        foreach (var path in paths) ReadBatch(path, images, labels);
        return new ByteImageDataset(name, Channels, ImageSide, ImageSide, images, labels, ClassNames);
    }

    private static void ReadBatch(string path, List<byte[]> images, List<int> labels)
    {
        var bytes = DataFiles.ReadAllBytes(path);
        if (bytes.Length == 0) throw new DataException(path, "empty file");
        if (bytes.Length % RecordSize != 0)
        {
            var whole = bytes.Length / RecordSize;
            var expected = (long)(whole + 1) * RecordSize;
            throw new DataException(path, $"truncated: expected {expected} bytes ({whole + 1} records of {RecordSize}), found {bytes.Length}");
        }
        var records = bytes.Length / RecordSize;
        for (var r = 0; r < records; r++)
        {
            var offset = r * RecordSize;
            var label = bytes[offset];
            if (label >= ClassNames.Count) throw new DataException(path, $"record {r}: label {label} is outside 0..{ClassNames.Count - 1}");
            labels.Add(label);
            images.Add(bytes.AsSpan(offset + 1, RecordSize - 1).ToArray());
        }
    }
}
