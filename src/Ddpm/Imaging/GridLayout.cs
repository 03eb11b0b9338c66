namespace Ddpm.Imaging;

/// <summary>
/// Where each image of a grid goes. Images fill rows left to right, top to bottom;
/// the grid is <see cref="Columns"/>·<see cref="CellWidth"/> + (<see cref="Columns"/> + 1)·<see cref="Padding"/> pixels wide
/// and likewise high, so padding separates images and also frames the border.
/// </summary>
/// <param name="Count">Number of images N.</param>
/// <param name="Columns">Images per row.</param>
/// <param name="Rows">⌈N / Columns⌉.</param>
/// <param name="CellWidth">Width of one (upscaled) image.</param>
/// <param name="CellHeight">Height of one (upscaled) image.</param>
/// <param name="Padding">Pixels between images and around the border.</param>
public sealed record GridLayout(int Count, int Columns, int Rows, int CellWidth, int CellHeight, int Padding)
{
    /// <summary>Width of the whole grid in pixels.</summary>
    public int Width => Columns * CellWidth + (Columns + 1) * Padding;

    /// <summary>Height of the whole grid in pixels.</summary>
    public int Height => Rows * CellHeight + (Rows + 1) * Padding;

    /// <summary>x of the left edge of image <paramref name="index"/>.</summary>
    public int Left(int index) => Padding + index % Columns * (CellWidth + Padding);

    /// <summary>y of the top edge of image <paramref name="index"/>.</summary>
    public int Top(int index) => Padding + index / Columns * (CellHeight + Padding);
}
