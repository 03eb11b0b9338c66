using System.Globalization;

namespace Ddpm.Sampling;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> of a sampling run of N images: the contiguous range of global indices
/// [⌊Index·N/Count⌋, ⌊(Index+1)·N/Count⌋). Contiguous ranges keep every batch full; since image i depends only on
/// (seed, i) (<see cref="SampleSeeds"/>), the shards' images together are exactly the single-machine run's.
/// </summary>
public sealed record Shard(int Index, int Count)
{
    /// <summary>The whole run as one shard.</summary>
    public static Shard Whole { get; } = new(0, 1);

    /// <summary>Parses <c>I/N</c> (0 ≤ I &lt; N), e.g. a Slurm array's <c>$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT</c>.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count >= 1 && index < count)
            return new Shard(index, count);
        throw new ArgumentException($"--shard must be I/N with 0 <= I < N (got '{text}').");
    }

    /// <summary>First global index of this shard of <paramref name="total"/> images.</summary>
    public long First(int total) => (long)Index * total / Count;

    /// <summary>Number of images of this shard of <paramref name="total"/> images.</summary>
    public int Length(int total) => (int)((long)(Index + 1) * total / Count - First(total));

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
