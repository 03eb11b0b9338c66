namespace Ddpm.Imaging;

/// <summary>
/// The one global colour table of a GIF written by <see cref="Gif"/>, and the mapping of pixels to its indices.
/// Grey animations use the 256 greys, so they are stored exactly. Colour animations use a fixed 6×7×6 RGB cube
/// (252 colours): a fixed table needs no analysis of the frames, is the same for every frame (no palette flicker as
/// samples change over the sampling steps) and makes encoding a lookup. Seven green levels because the eye is most
/// sensitive to green; compared with the 3-3-2 cube (8×8×4), the largest error per channel is more even
/// (≤ 25.5 for red and blue, ≤ 21.25 for green, against 42.5 for 3-3-2's blue). Median cut would look better for
/// photographs but costs a pass over all frames; these animations are previews, so banding is acceptable.
/// </summary>
internal sealed class GifPalette
{
    /// <summary>Levels per channel of the colour cube.</summary>
    internal const int RedLevels = 6, GreenLevels = 7, BlueLevels = 6;

    /// <summary>Entries in the colour table as written: always 256 (unused entries are black), so the LZW minimum code size is 8.</summary>
    internal const int TableSize = 256;

    private GifPalette(bool isGrey, byte[] table)
    {
        IsGrey = isGrey;
        Table = table;
    }

    /// <summary>The 256 greys: index i is (i, i, i).</summary>
    internal static GifPalette Grey { get; } = new(true, BuildGrey());

    /// <summary>The 6×7×6 colour cube: index (r·7 + g)·6 + b.</summary>
    internal static GifPalette Color { get; } = new(false, BuildCube());

    /// <summary>True for <see cref="Grey"/>.</summary>
    internal bool IsGrey { get; }

    /// <summary>R, G, B of each of the <see cref="TableSize"/> entries.</summary>
    internal byte[] Table { get; }

    /// <summary>The grey palette when every pixel of every frame has R = G = B, otherwise the colour cube.</summary>
    internal static GifPalette For(IEnumerable<ByteImages> frames)
    {
        foreach (var frame in frames)
        {
            if (frame.Channels == 1) continue;
            var p = frame.Pixels;
            for (var i = 0; i < p.Length; i += 3)
            {
                if (p[i] != p[i + 1] || p[i + 1] != p[i + 2]) return Color;
            }
        }

        return Grey;
    }

    /// <summary>The palette index of every pixel of image 0 of <paramref name="frame"/>, row by row.</summary>
    internal byte[] Indices(ByteImages frame)
    {
        var pixels = frame.Pixels;
        var count = frame.Height * frame.Width;
        var indices = new byte[count];
        for (var i = 0; i < count; i++)
        {
            if (frame.Channels == 1)
            {
                indices[i] = IsGrey ? pixels[i] : CubeIndex(pixels[i], pixels[i], pixels[i]);
            }
            else
            {
                var s = 3 * i;
                // On the grey palette R = G = B was checked, so R is the grey value.
                indices[i] = IsGrey ? pixels[s] : CubeIndex(pixels[s], pixels[s + 1], pixels[s + 2]);
            }
        }

        return indices;
    }

    /// <summary>Index of the cube colour nearest to (r, g, b), channel by channel.</summary>
    internal static byte CubeIndex(byte r, byte g, byte b) =>
        (byte)((Level(r, RedLevels) * GreenLevels + Level(g, GreenLevels)) * BlueLevels + Level(b, BlueLevels));

    /// <summary>The byte value of level <paramref name="level"/> of <paramref name="levels"/> spread evenly over 0..255.</summary>
    internal static byte LevelValue(int level, int levels) => (byte)Math.Round(level * 255.0 / (levels - 1), MidpointRounding.AwayFromZero);

    private static int Level(byte value, int levels) => (int)Math.Round(value * (levels - 1) / 255.0, MidpointRounding.AwayFromZero);

    private static byte[] BuildGrey()
    {
        var table = new byte[3 * TableSize];
        for (var i = 0; i < TableSize; i++) table[3 * i] = table[3 * i + 1] = table[3 * i + 2] = (byte)i;
        return table;
    }

    private static byte[] BuildCube()
    {
        var table = new byte[3 * TableSize];
        for (var r = 0; r < RedLevels; r++)
        {
            for (var g = 0; g < GreenLevels; g++)
            {
                for (var b = 0; b < BlueLevels; b++)
                {
                    var i = 3 * ((r * GreenLevels + g) * BlueLevels + b);
                    table[i] = LevelValue(r, RedLevels);
                    table[i + 1] = LevelValue(g, GreenLevels);
                    table[i + 2] = LevelValue(b, BlueLevels);
                }
            }
        }

        return table;
    }
}
