namespace Ddpm.Imaging;

/// <summary>
/// Writes the GIF89a container around equally sized 8-bit frames: header, logical screen descriptor with one global
/// colour table (<see cref="GifPalette"/>), the NETSCAPE2.0 looping extension, then per frame a graphic control
/// extension (delay) and an image descriptor with LZW-compressed data (<see cref="LzwEncoder"/>) in sub-blocks.
/// </summary>
internal static class GifEncoder
{
    /// <summary>LZW minimum code size: 8 bits, since the colour table always has 256 entries.</summary>
    private const int MinCodeSize = 8;

    /// <summary>Longest data sub-block.</summary>
    private const int MaxSubBlock = 255;

    private const byte ExtensionIntroducer = 0x21, GraphicControlLabel = 0xF9, ApplicationLabel = 0xFF;
    private const byte ImageSeparator = 0x2C, Trailer = 0x3B, BlockTerminator = 0x00;

    /// <summary>
    /// Logical screen descriptor flags: global colour table present (0x80), 8 bits per primary (7 &lt;&lt; 4),
    /// not sorted, table size 2^(7+1) = 256 (7).
    /// </summary>
    private const byte ScreenFlags = 0x80 | (7 << 4) | 7;

    /// <summary>Disposal method 1 ("do not dispose") in bits 2..4; no user input, no transparency.</summary>
    private const byte GraphicControlFlags = 1 << 2;

    /// <summary>Encodes the frames (each with Count = 1, all of one size) into a complete GIF file.</summary>
    internal static byte[] Encode(IReadOnlyList<ByteImages> frames, GifOptions options)
    {
        if (frames.Count == 0) throw new ArgumentException("A GIF needs at least one frame.", nameof(frames));
        int width = frames[0].Width, height = frames[0].Height;
        if (width > ushort.MaxValue || height > ushort.MaxValue)
            throw new ArgumentException($"GIF frames can be at most {ushort.MaxValue} pixels a side (got {width}×{height}).");
        for (var i = 1; i < frames.Count; i++)
        {
            if (frames[i].Width != width || frames[i].Height != height)
                throw new ArgumentException($"All GIF frames must have one size: frame 0 is {width}×{height}, frame {i} is {frames[i].Width}×{frames[i].Height}.");
        }

        var palette = GifPalette.For(frames);
        using var stream = new MemoryStream();
        stream.Write("GIF89a"u8);
        WriteUInt16(stream, width);
        WriteUInt16(stream, height);
        stream.WriteByte(ScreenFlags);
        stream.WriteByte(0); // background colour index
        stream.WriteByte(0); // pixel aspect ratio: not given
        stream.Write(palette.Table);

        if (options.Loop)
        {
            stream.WriteByte(ExtensionIntroducer);
            stream.WriteByte(ApplicationLabel);
            stream.WriteByte(11);
            stream.Write("NETSCAPE2.0"u8);
            stream.WriteByte(3); // sub-block length
            stream.WriteByte(1); // sub-block id: loop count
            WriteUInt16(stream, 0); // 0 = loop forever
            stream.WriteByte(BlockTerminator);
        }

        for (var i = 0; i < frames.Count; i++)
        {
            var delayMs = i == frames.Count - 1 ? options.LastFrameDelayMs ?? options.DelayMs : options.DelayMs;
            stream.WriteByte(ExtensionIntroducer);
            stream.WriteByte(GraphicControlLabel);
            stream.WriteByte(4);
            stream.WriteByte(GraphicControlFlags);
            WriteUInt16(stream, Centiseconds(delayMs));
            stream.WriteByte(0); // transparent colour index (unused)
            stream.WriteByte(BlockTerminator);

            stream.WriteByte(ImageSeparator);
            WriteUInt16(stream, 0); // left
            WriteUInt16(stream, 0); // top
            WriteUInt16(stream, width);
            WriteUInt16(stream, height);
            stream.WriteByte(0); // no local colour table, not interlaced

            stream.WriteByte(MinCodeSize);
            var data = LzwEncoder.Compress(palette.Indices(frames[i]), MinCodeSize);
            for (var offset = 0; offset < data.Length; offset += MaxSubBlock)
            {
                var length = Math.Min(MaxSubBlock, data.Length - offset);
                stream.WriteByte((byte)length);
                stream.Write(data, offset, length);
            }

            stream.WriteByte(BlockTerminator);
        }

        stream.WriteByte(Trailer);
        return stream.ToArray();
    }

    /// <summary>Milliseconds to the centiseconds GIF stores, rounding halves up.</summary>
    internal static int Centiseconds(int milliseconds) => (milliseconds + 5) / 10;

    private static void WriteUInt16(Stream stream, int value)
    {
        stream.WriteByte((byte)value);
        stream.WriteByte((byte)(value >> 8));
    }
}
