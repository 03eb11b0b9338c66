using static TorchSharp.torch;

namespace Ddpm.Tests.TestSupport;

/// <summary>Bit-for-bit comparison of float32 tensors.</summary>
internal static class Same
{
    public static bool Bytes(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dtype != b.dtype) return false;
        using var ca = a.contiguous();
        using var cb = b.contiguous();
        return ca.bytes.SequenceEqual(cb.bytes);
    }
}
