using static TorchSharp.torch;

namespace Ddpm.Imaging;

/// <summary>
/// Animated GIFs from a sequence of images, e.g. the predicted x̂₀ over the sampling steps (progressive generation) or
/// a denoising chain x_T … x_0. SkiaSharp cannot encode GIF, so the GIF89a encoder is our own (<see cref="GifEncoder"/>).
/// Grey frames are stored exactly; colour frames are quantised to a fixed 6×7×6 palette (see <see cref="GifPalette"/>).
/// </summary>
public static class Gif
{
    /// <summary>Encodes the frames as an animated GIF.</summary>
    /// <param name="frames">
    /// One tensor per frame, in [−1, 1]: a single image [C, H, W] or [1, C, H, W], or a batch [N, C, H, W] that is tiled
    /// with <see cref="GifOptions.Grid"/>. Every frame must come out the same size; grey and RGB frames may be mixed.
    /// </param>
    /// <param name="options">Delays, looping and grid layout; null for the defaults.</param>
    /// <exception cref="ArgumentException">No frames, a bad frame shape, frames of different sizes, or invalid options.</exception>
    public static byte[] Encode(IReadOnlyList<Tensor> frames, GifOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        options = (options ?? new GifOptions()).Validate();
        if (frames.Count == 0) throw new ArgumentException("A GIF needs at least one frame (the frame list is empty).", nameof(frames));
        var images = new ByteImages[frames.Count];
        for (var i = 0; i < frames.Count; i++)
        {
            var bytes = ByteImages.FromTensor(frames[i] ?? throw new ArgumentException($"Frame {i} is null.", nameof(frames)));
            images[i] = bytes.Count == 1 ? bytes : ImageGrid.Compose(bytes, options.Grid);
        }

        return GifEncoder.Encode(images, options);
    }

    /// <summary>Writes the frames as an animated GIF to <paramref name="path"/>, atomically (<see cref="AtomicFile"/>).</summary>
    /// <exception cref="ArgumentException">As <see cref="Encode"/>.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void Save(IReadOnlyList<Tensor> frames, string path, GifOptions options) =>
        AtomicFile.WriteAllBytes(path, Encode(frames, options));

    /// <summary>
    /// Writes the frames as an animated GIF showing each for <paramref name="delayMs"/> milliseconds (the last one for
    /// <see cref="GifOptions.LastFrameDelayMs"/>), looping forever when <paramref name="loop"/> is true.
    /// </summary>
    public static void Save(IReadOnlyList<Tensor> frames, string path, int delayMs = 100, bool loop = true) =>
        Save(frames, path, new GifOptions { DelayMs = delayMs, Loop = loop });
}
