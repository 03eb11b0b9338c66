using SkiaSharp;

namespace Ddpm.Imaging;

/// <summary>How <see cref="ImageGrid"/> lays images out. Defaults follow torchvision's <c>make_grid</c> except the padding colour.</summary>
public sealed record GridOptions
{
    /// <summary>Images per row; null means ⌈√N⌉ (a square-ish grid). Capped at N so a short batch has no empty columns.</summary>
    public int? Columns { get; init; }

    /// <summary>Pixels of padding between images and around the border, in output pixels (not scaled). torchvision: 2.</summary>
    public int Padding { get; init; } = 2;

    /// <summary>
    /// Colour of the padding and of unused cells; alpha is ignored. White rather than torchvision's black, because the
    /// dark backgrounds of MNIST-style digits and garments would merge with black padding.
    /// A grey colour (R = G = B) keeps grids of grey images grey; any other colour makes the grid RGB.
    /// </summary>
    public SKColor PaddingColor { get; init; } = SKColors.White;

    /// <summary>Nearest-neighbour upscale factor for each image (1 = none); e.g. 4 makes 28×28 digits 112×112, big enough to see.</summary>
    public int Scale { get; init; } = 1;

    /// <summary>Largest accepted <see cref="Scale"/>, well past anything useful, to catch typos before they allocate gigabytes.</summary>
    public const int MaxScale = 64;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the options cannot make a grid.</summary>
    public GridOptions Validate()
    {
        if (Columns is < 1) throw new ArgumentException($"Grid columns must be at least 1 (got {Columns}).");
        if (Padding < 0) throw new ArgumentException($"Grid padding must not be negative (got {Padding}).");
        if (Scale is < 1 or > MaxScale) throw new ArgumentException($"Grid scale must lie in 1..{MaxScale} (got {Scale}).");
        return this;
    }
}
