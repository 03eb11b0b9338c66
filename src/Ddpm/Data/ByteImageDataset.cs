namespace Ddpm.Data;

/// <summary>
/// An in-memory data set of 8-bit images, one CHW byte array per image, with optional labels. Every loader in
/// <see cref="Ddpm.Data"/> returns one; build one from your own bytes the same way.
/// </summary>
public class ByteImageDataset : IDataset
{
    private readonly byte[][] images;
    private readonly int[]? labels;

    /// <summary>
    /// A data set over <paramref name="images"/>, each holding <paramref name="channels"/>·<paramref name="height"/>·<paramref name="width"/>
    /// bytes in CHW order (for RGB: the whole R plane, then G, then B). The arrays are kept, not copied.
    /// </summary>
    /// <param name="name">Short name for logs, e.g. <c>cifar10</c>.</param>
    /// <param name="channels">1 (grey) or 3 (RGB).</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="images">The pixels, one array per image.</param>
    /// <param name="labels">One class per image, or null for an unlabelled data set.</param>
    /// <param name="classNames">
    /// Names of the classes; their count is <see cref="NumClasses"/>. When null and labels are given, the classes are
    /// 0..max(label) and named by their number.
    /// </param>
    public ByteImageDataset(string name, int channels, int height, int width, IReadOnlyList<byte[]> images,
        IReadOnlyList<int>? labels = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(images);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images have 1 (grey) or 3 (RGB) channels.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "The height must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "The width must be at least 1.");
        var size = (long)channels * height * width;
        if (size > Array.MaxLength) throw new ArgumentException($"An image of {channels}×{height}×{width} is too large.");
        Name = name;
        Channels = channels;
        Height = height;
        Width = width;
        ImageSize = (int)size;

        this.images = [.. images];
        for (var i = 0; i < this.images.Length; i++)
        {
            var image = this.images[i] ?? throw new ArgumentException($"Image {i} is null.", nameof(images));
            if (image.Length != ImageSize)
                throw new ArgumentException($"Image {i} has {image.Length} bytes but {channels}×{height}×{width} = {ImageSize} are needed.", nameof(images));
        }

        if (labels is null)
        {
            if (classNames is { Count: > 0 }) throw new ArgumentException("Class names were given without labels.", nameof(classNames));
            ClassNames = [];
            return;
        }

        if (labels.Count != this.images.Length)
            throw new ArgumentException($"There are {labels.Count} labels for {this.images.Length} images.", nameof(labels));
        this.labels = [.. labels];
        var numClasses = classNames?.Count ?? (this.labels.Length == 0 ? 0 : this.labels.Max() + 1);
        for (var i = 0; i < this.labels.Length; i++)
        {
            if (this.labels[i] < 0 || this.labels[i] >= numClasses)
                throw new ArgumentException($"Label {this.labels[i]} of image {i} is outside 0..{numClasses - 1}.", nameof(labels));
        }
        ClassNames = classNames is null
            ? [.. Enumerable.Range(0, numClasses).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : [.. classNames];
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public int Count => images.Length;

    /// <inheritdoc />
    public int Channels { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <summary>Bytes (and floats) per image: <see cref="Channels"/>·<see cref="Height"/>·<see cref="Width"/>.</summary>
    public int ImageSize { get; }

    /// <inheritdoc />
    public int NumClasses => ClassNames.Count;

    /// <summary>The name of each class, index = label; empty when unlabelled.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>True when every image has a label.</summary>
    public bool IsLabelled => labels is not null;

    /// <summary>The stored bytes of image <paramref name="index"/>, CHW.</summary>
    public ReadOnlySpan<byte> GetBytes(int index) => images[index];

    /// <inheritdoc />
    public void CopyImage(int index, Span<float> destination)
    {
        if (destination.Length != ImageSize)
            throw new ArgumentException($"The destination holds {destination.Length} values but an image has {ImageSize}.", nameof(destination));
        PixelScaling.ToModelRange(images[index], destination);
    }

    /// <inheritdoc />
    public int GetLabel(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, images.Length);
        return labels is null ? -1 : labels[index];
    }
}
