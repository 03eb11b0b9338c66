namespace Ddpm.Data;

/// <summary>
/// A finite, indexable set of images of one size, optionally labelled. Implement it for your own data in a few lines:
/// keep the pixels as bytes and write them with <see cref="PixelScaling.ToModelRange(ReadOnlySpan{byte}, Span{float})"/>,
/// or construct a <see cref="ByteImageDataset"/> directly.
/// </summary>
/// <remarks>
/// <see cref="BatchLoader"/> calls <see cref="CopyImage"/> and <see cref="GetLabel"/> from a background thread (one at a
/// time), so implementations must not depend on the calling thread; read-only in-memory data is fine.
/// </remarks>
public interface IDataset
{
    /// <summary>A short name for logs and saved configurations, e.g. <c>fashion-mnist</c>.</summary>
    string Name { get; }

    /// <summary>Number of images.</summary>
    int Count { get; }

    /// <summary>Channels per image: 1 (grey) or 3 (RGB).</summary>
    int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    int Height { get; }

    /// <summary>Image width in pixels.</summary>
    int Width { get; }

    /// <summary>Number of classes, 0 when the data set is unlabelled.</summary>
    int NumClasses { get; }

    /// <summary>
    /// Writes image <paramref name="index"/> into <paramref name="destination"/> (exactly
    /// <see cref="Channels"/>·<see cref="Height"/>·<see cref="Width"/> elements) in CHW order, each byte value x in 0..255
    /// scaled to x/127.5 − 1 in [−1, 1] (Ho et al. 2020, §3.3: data scaled linearly to [−1, 1]).
    /// </summary>
    void CopyImage(int index, Span<float> destination);

    /// <summary>The class of image <paramref name="index"/> in 0..<see cref="NumClasses"/>−1, or −1 when unlabelled.</summary>
    int GetLabel(int index);
}
