namespace Ddpm.Imaging;

/// <summary>
/// The variable-length-code LZW compression of GIF image data (GIF89a specification, Appendix F).
/// Codes start at <c>minCodeSize + 1</c> bits and grow by one bit whenever the next code to be assigned no longer fits,
/// up to 12 bits (4096 codes); when the table is full a clear code is sent and the table starts again.
/// Codes are packed least significant bit first.
/// </summary>
internal static class LzwEncoder
{
    /// <summary>Longest code GIF allows.</summary>
    internal const int MaxCodeBits = 12;

    /// <summary>Number of codes a 12-bit table can hold.</summary>
    internal const int MaxCodes = 1 << MaxCodeBits;

    /// <summary>
    /// Compresses <paramref name="indices"/> (each below 2^<paramref name="minCodeSize"/>) into the raw LZW code stream:
    /// a clear code first, the codes, then the end-of-information code. Sub-blocking is left to the caller.
    /// </summary>
    internal static byte[] Compress(ReadOnlySpan<byte> indices, int minCodeSize)
    {
        if (minCodeSize is < 2 or > 8) throw new ArgumentOutOfRangeException(nameof(minCodeSize), minCodeSize, "GIF's LZW minimum code size lies in 2..8.");
        var clearCode = 1 << minCodeSize;
        var endCode = clearCode + 1;
        var output = new BitWriter();
        var table = new Dictionary<int, int>();
        var codeSize = minCodeSize + 1;
        var nextCode = endCode + 1;

        output.Write(clearCode, codeSize);
        if (indices.IsEmpty)
        {
            output.Write(endCode, codeSize);
            return output.ToArray();
        }

        int prefix = indices[0];
        CheckIndex(prefix, clearCode);
        for (var i = 1; i < indices.Length; i++)
        {
            int k = indices[i];
            CheckIndex(k, clearCode);
            var key = (prefix << 8) | k;
            if (table.TryGetValue(key, out var code))
            {
                prefix = code;
                continue;
            }

            output.Write(prefix, codeSize);
            if (nextCode < MaxCodes)
            {
                table[key] = nextCode++;
                // The decoder adds the same entry one code later and widens its codes as soon as its next free
                // code no longer fits, which is exactly when ours has passed 2^codeSize.
                if (nextCode > 1 << codeSize && codeSize < MaxCodeBits) codeSize++;
            }
            else
            {
                output.Write(clearCode, codeSize);
                table.Clear();
                codeSize = minCodeSize + 1;
                nextCode = endCode + 1;
            }

            prefix = k;
        }

        output.Write(prefix, codeSize);
        // On reading that last code the decoder adds one more entry and may widen its codes; the end code must match.
        if (nextCode < MaxCodes && nextCode + 1 > 1 << codeSize && codeSize < MaxCodeBits) codeSize++;
        output.Write(endCode, codeSize);
        return output.ToArray();
    }

    private static void CheckIndex(int index, int clearCode)
    {
        if (index >= clearCode) throw new ArgumentException($"Palette index {index} does not fit the LZW minimum code size (must be below {clearCode}).");
    }

    /// <summary>Packs codes of varying width into bytes, least significant bit first.</summary>
    private sealed class BitWriter
    {
        private readonly List<byte> bytes = [];
        private int buffer;
        private int bits;

        public void Write(int code, int width)
        {
            buffer |= code << bits;
            bits += width;
            while (bits >= 8)
            {
                bytes.Add((byte)buffer);
                buffer >>= 8;
                bits -= 8;
            }
        }

        public byte[] ToArray()
        {
            if (bits > 0) bytes.Add((byte)buffer);
            return [.. bytes];
        }
    }
}
