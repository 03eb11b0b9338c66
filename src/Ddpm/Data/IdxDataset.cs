using System.Buffers.Binary;

namespace Ddpm.Data;

/// <summary>
/// Loads IDX files, the format of MNIST and Fashion-MNIST: a big-endian header (magic number, then one 32-bit size per
/// dimension) followed by unsigned bytes. Files may be gzip-compressed or raw; compression is detected from the content.
/// </summary>
public static class IdxDataset
{
    /// <summary>Magic number of an IDX file of unsigned bytes with three dimensions (count, rows, columns): images.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned bytes with one dimension (count): labels.</summary>
    public const int LabelsMagic = 0x00000801;

    private const int ImagesHeaderSize = 16;
    private const int LabelsHeaderSize = 8;

    /// <summary>
    /// Loads a complete data set from an images file and, optionally, a labels file with one label per image.
    /// </summary>
    /// <param name="imagesPath">IDX images file (magic 0x00000803), gzip-compressed or raw.</param>
    /// <param name="labelsPath">IDX labels file (magic 0x00000801), or null for an unlabelled data set.</param>
    /// <param name="name">Name of the data set; default: the images file's name.</param>
    /// <param name="classNames">Class names, index = label; when given, every label must be below their count.</param>
    /// <exception cref="DataException">A file is missing, truncated or corrupt, or the counts differ.</exception>
    public static ByteImageDataset Load(string imagesPath, string? labelsPath = null, string? name = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(imagesPath);
        var (rows, columns, images) = ReadImages(imagesPath);
        int[]? labels = null;
        if (labelsPath is not null)
        {
            labels = ReadLabels(labelsPath);
            if (labels.Length != images.Count)
                throw new DataException(labelsPath, $"{labels.Length} labels for {images.Count} images in {Path.GetFileName(imagesPath)}");
            var limit = classNames?.Count ?? 256;
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] >= limit) throw new DataException(labelsPath, $"label {labels[i]} of item {i} is outside 0..{limit - 1}");
            }
        }
        return new ByteImageDataset(name ?? Path.GetFileName(imagesPath), 1, rows, columns, images, labels, labels is null ? null : classNames);
    }

    /// <summary>
    /// Loads the train or test split from a folder with the standard MNIST file names
    /// (<c>train-images-idx3-ubyte.gz</c>, <c>train-labels-idx1-ubyte.gz</c>, <c>t10k-…</c>), each either gzip-compressed
    /// with <c>.gz</c> or raw without it (also accepted: <c>train-images.idx3-ubyte</c>).
    /// </summary>
    /// <exception cref="DataException">The folder or a file is missing, truncated or corrupt.</exception>
    public static ByteImageDataset LoadSplit(string directory, bool train, string name, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        DataFiles.RequireDirectory(directory);
        var prefix = train ? "train" : "t10k";
        return Load(Find(directory, prefix, "images", 3), Find(directory, prefix, "labels", 1), name, classNames);
    }

    /// <summary>The standard file name of a split's images or labels, gzip-compressed: e.g. <c>t10k-labels-idx1-ubyte.gz</c>.</summary>
    public static string StandardFileName(bool train, bool labels) =>
        $"{(train ? "train" : "t10k")}-{(labels ? "labels-idx1" : "images-idx3")}-ubyte.gz";

    private static string Find(string directory, string prefix, string kind, int dims)
    {
        string[] candidates = [$"{prefix}-{kind}-idx{dims}-ubyte.gz", $"{prefix}-{kind}-idx{dims}-ubyte", $"{prefix}-{kind}.idx{dims}-ubyte"];
        foreach (var candidate in candidates)
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataException(Path.Combine(directory, candidates[0]), "not found");
    }

    private static (int Rows, int Columns, List<byte[]> Images) ReadImages(string path)
    {
        using var stream = DataFiles.OpenMaybeGzip(path);
        Span<byte> header = stackalloc byte[ImagesHeaderSize];
        var got = DataFiles.ReadUpTo(stream, header, path);
        CheckMagic(path, header[..Math.Min(got, 4)], ImagesMagic, "images");
        if (got < ImagesHeaderSize)
            throw new DataException(path, $"truncated: expected at least {ImagesHeaderSize} bytes (header), found {got}");
        var count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        var rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        var columns = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0 || rows < 1 || columns < 1 || (long)rows * columns > Array.MaxLength)
            throw new DataException(path, $"bad dimensions {count}×{rows}×{columns}");

        var imageSize = rows * columns;
        var expected = ImagesHeaderSize + (long)count * imageSize;
        var images = new List<byte[]>(Math.Min(count, 1 << 16));
        long found = ImagesHeaderSize;
        for (var i = 0; i < count; i++)
        {
            var image = new byte[imageSize];
            var n = DataFiles.ReadUpTo(stream, image, path);
            found += n;
            if (n < imageSize) throw DataFiles.WrongSize(path, expected, found + DataFiles.CountRemaining(stream, path));
            images.Add(image);
        }
        var extra = DataFiles.CountRemaining(stream, path);
        if (extra > 0) throw DataFiles.WrongSize(path, expected, expected + extra);
        return (rows, columns, images);
    }

    private static int[] ReadLabels(string path)
    {
        using var stream = DataFiles.OpenMaybeGzip(path);
        Span<byte> header = stackalloc byte[LabelsHeaderSize];
        var got = DataFiles.ReadUpTo(stream, header, path);
        CheckMagic(path, header[..Math.Min(got, 4)], LabelsMagic, "labels");
        if (got < LabelsHeaderSize)
            throw new DataException(path, $"truncated: expected at least {LabelsHeaderSize} bytes (header), found {got}");
        var count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0) throw new DataException(path, $"bad label count {count}");

        var expected = LabelsHeaderSize + (long)count;
        var labels = new List<int>(Math.Min(count, 1 << 16));
        var chunk = new byte[1 << 16];
        while (labels.Count < count)
        {
            var want = Math.Min(chunk.Length, count - labels.Count);
            var n = DataFiles.ReadUpTo(stream, chunk.AsSpan(0, want), path);
            for (var i = 0; i < n; i++) labels.Add(chunk[i]);
            if (n < want) throw DataFiles.WrongSize(path, expected, LabelsHeaderSize + labels.Count + DataFiles.CountRemaining(stream, path));
        }
        var extra = DataFiles.CountRemaining(stream, path);
        if (extra > 0) throw DataFiles.WrongSize(path, expected, expected + extra);
        return [.. labels];
    }

    private static void CheckMagic(string path, ReadOnlySpan<byte> magicBytes, int expected, string kind)
    {
        if (magicBytes.Length < 4)
            throw new DataException(path, $"truncated: expected at least 4 bytes (magic number), found {magicBytes.Length}");
        var magic = BinaryPrimitives.ReadInt32BigEndian(magicBytes);
        if (magic == expected) return;
        var hint = magic switch
        {
            ImagesMagic => " (an IDX images file)",
            LabelsMagic => " (an IDX labels file)",
            _ => "",
        };
        throw new DataException(path, $"bad magic number 0x{magic:x8}{hint}, expected 0x{expected:x8} (IDX {kind})");
    }
}
