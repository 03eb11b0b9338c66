namespace Ddpm.Imaging;

/// <summary>Timing and layout of an animated GIF written by <see cref="Gif"/>.</summary>
public sealed record GifOptions
{
    /// <summary>Largest delay a GIF can store: 65535 centiseconds.</summary>
    public const int MaxDelayMs = 655_350;

    /// <summary>
    /// Time each frame is shown, in milliseconds; stored in centiseconds, so it is rounded to a multiple of 10 ms.
    /// Default 100 ms (10 frames a second). Browsers show delays under 20 ms as 100 ms, so go no lower than 20.
    /// </summary>
    public int DelayMs { get; init; } = 100;

    /// <summary>
    /// Time the last frame is shown, in milliseconds; null means <see cref="DelayMs"/>.
    /// Default 1000 ms, so the finished sample of a progressive-generation animation stays visible before the loop restarts.
    /// </summary>
    public int? LastFrameDelayMs { get; init; } = 1000;

    /// <summary>Play forever (a NETSCAPE2.0 looping extension with count 0); false plays once.</summary>
    public bool Loop { get; init; } = true;

    /// <summary>How a frame given as a batch [N, C, H, W] is tiled into one picture.</summary>
    public GridOptions Grid { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the options cannot make a GIF.</summary>
    public GifOptions Validate()
    {
        if (DelayMs is < 0 or > MaxDelayMs) throw new ArgumentException($"GIF frame delay must lie in 0..{MaxDelayMs} ms (got {DelayMs}).");
        if (LastFrameDelayMs is < 0 or > MaxDelayMs)
            throw new ArgumentException($"GIF last-frame delay must lie in 0..{MaxDelayMs} ms (got {LastFrameDelayMs}).");
        ArgumentNullException.ThrowIfNull(Grid);
        Grid.Validate();
        return this;
    }
}
