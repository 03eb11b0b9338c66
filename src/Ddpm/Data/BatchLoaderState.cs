namespace Ddpm.Data;

/// <summary>
/// Where a <see cref="BatchLoader"/> stands: the next batch starts at position <paramref name="Offset"/> of epoch
/// <paramref name="Epoch"/>'s permutation. Together with the loader's seed, batch size and data set this fixes every
/// following batch, so saving it with a checkpoint lets training resume exactly, even mid-epoch.
/// </summary>
/// <param name="Epoch">Completed passes over the data set (0-based index of the current epoch).</param>
/// <param name="Offset">Index, within the current epoch's permutation, of the next image to be served.</param>
public sealed record BatchLoaderState(long Epoch, int Offset)
{
    /// <summary>The beginning of the first epoch.</summary>
    public static BatchLoaderState Start { get; } = new(0, 0);
}
