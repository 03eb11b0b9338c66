using System.Text;

namespace Ddpm.Tests.Imaging;

/// <summary>
/// A deliberately strict GIF89a reader for tests: it checks the block structure byte by byte and decodes LZW with the
/// exact code widths, requiring a clear code first, the end code at the right width, and no pixels missing or extra.
/// SkiaSharp's decoder is forgiving; this one is not, so encoder slips that a viewer would hide show up here.
/// </summary>
internal sealed class GifStreamReader
{
    private readonly byte[] data;
    private int position;

    private GifStreamReader(byte[] data) => this.data = data;

    public int Width { get; private set; }
    public int Height { get; private set; }
    public byte[] GlobalTable { get; private set; } = [];

    /// <summary>NETSCAPE2.0 loop count (0 = forever), or null when there is no looping extension.</summary>
    public int? LoopCount { get; private set; }

    public List<(byte[] Indices, int DelayCs)> Frames { get; } = [];

    public static GifStreamReader Read(byte[] gif)
    {
        var reader = new GifStreamReader(gif);
        reader.Parse();
        return reader;
    }

    private void Parse()
    {
        Expect(Encoding.ASCII.GetString(Take(6)) == "GIF89a", "header");
        Width = UInt16();
        Height = UInt16();
        var flags = Byte();
        Byte(); // background
        Byte(); // aspect
        Expect((flags & 0x80) != 0, "global colour table present");
        GlobalTable = Take(3 * (1 << ((flags & 7) + 1)));
        int? pendingDelay = null;
        while (true)
        {
            var introducer = Byte();
            if (introducer == 0x3B)
            {
                Expect(position == data.Length, "nothing after the trailer");
                return;
            }

            if (introducer == 0x21)
            {
                var label = Byte();
                if (label == 0xF9)
                {
                    Expect(Byte() == 4, "graphic control block size");
                    Byte();
                    pendingDelay = UInt16();
                    Byte();
                    Expect(Byte() == 0, "graphic control terminator");
                }
                else if (label == 0xFF)
                {
                    var blocks = SubBlocks();
                    Expect(blocks.Count == 2 && Encoding.ASCII.GetString(blocks[0]) == "NETSCAPE2.0", "NETSCAPE2.0 extension");
                    Expect(blocks[1].Length == 3 && blocks[1][0] == 1, "loop sub-block");
                    LoopCount = blocks[1][1] | (blocks[1][2] << 8);
                }
                else
                {
                    throw new InvalidDataException($"Unexpected extension 0x{label:X2}.");
                }

                continue;
            }

            Expect(introducer == 0x2C, $"image separator at {position - 1}");
            Expect(UInt16() == 0 && UInt16() == 0, "frame at the origin");
            Expect(UInt16() == Width && UInt16() == Height, "frame covers the screen");
            Expect(Byte() == 0, "no local table, not interlaced");
            var minCodeSize = Byte();
            var stream = SubBlocks().SelectMany(b => b).ToArray();
            Expect(pendingDelay is not null, "graphic control extension before each frame");
            Frames.Add((Lzw(stream, minCodeSize, Width * Height), pendingDelay!.Value));
            pendingDelay = null;
        }
    }

    /// <summary>Strict LZW decoding of one frame's code stream.</summary>
    public static byte[] Lzw(byte[] stream, int minCodeSize, int pixelCount)
    {
        var clear = 1 << minCodeSize;
        var end = clear + 1;
        var table = new List<byte[]>();
        var output = new List<byte>(pixelCount);
        var codeSize = minCodeSize + 1;
        byte[]? previous = null;
        var bit = 0;
        var sawClear = false;

        void Reset()
        {
            table.Clear();
            for (var i = 0; i < clear; i++) table.Add([(byte)i]);
            table.Add([]); // clear
            table.Add([]); // end
            codeSize = minCodeSize + 1;
            previous = null;
        }

        while (true)
        {
            Expect(bit + codeSize <= stream.Length * 8, "the code stream ends with an end code");
            var code = 0;
            for (var i = 0; i < codeSize; i++, bit++)
            {
                if ((stream[bit >> 3] & (1 << (bit & 7))) != 0) code |= 1 << i;
            }

            if (code == clear)
            {
                Reset();
                sawClear = true;
                continue;
            }

            Expect(sawClear, "a clear code first");
            if (code == end)
            {
                Expect(stream.Length == (bit + 7) / 8, "no bytes after the end code");
                Expect(output.Count == pixelCount, $"exactly {pixelCount} pixels (got {output.Count})");
                return [.. output];
            }

            byte[] entry;
            if (previous is null)
            {
                Expect(code < clear, "a literal after a clear code");
                entry = table[code];
            }
            else
            {
                if (code < table.Count) entry = table[code];
                else if (code == table.Count) entry = [.. previous, previous[0]];
                else throw new InvalidDataException($"Code {code} is beyond the table ({table.Count}).");
                if (table.Count < 4096)
                {
                    table.Add([.. previous, entry[0]]);
                    if (table.Count == 1 << codeSize && codeSize < 12) codeSize++;
                }
            }

            output.AddRange(entry);
            Expect(output.Count <= pixelCount, "no more pixels than the frame holds");
            previous = entry;
        }
    }

    private List<byte[]> SubBlocks()
    {
        var blocks = new List<byte[]>();
        while (true)
        {
            var length = Byte();
            if (length == 0) return blocks;
            blocks.Add(Take(length));
        }
    }

    private byte Byte()
    {
        Expect(position < data.Length, "more data");
        return data[position++];
    }

    private int UInt16() => Byte() | (Byte() << 8);

    private byte[] Take(int n)
    {
        Expect(position + n <= data.Length, "more data");
        var result = data.AsSpan(position, n).ToArray();
        position += n;
        return result;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition) throw new InvalidDataException($"Malformed GIF: expected {what}.");
    }
}
