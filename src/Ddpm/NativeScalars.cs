using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm;

/// <summary>
/// Tensor arithmetic with a number that frees the number's native copy at once. As TorchSharp's own in-place
/// operations, the helpers return the tensor they were called on.
/// TorchSharp 0.107 turns every number operand — and the implicit <c>alpha = 1</c> of <c>add</c>, <c>add_</c> and
/// <c>+</c> — into a native <see cref="Scalar"/> that only the garbage collector's finalizer frees. Those small
/// blocks are allocated between one step's activations and freed at random later moments, so glibc's heap ends up
/// with small live blocks inside the large free ones, and the resident set grows into fresh memory step after step
/// (see <see cref="Runtime.CpuTuningOptions.CollectAfterEachStep"/>). Code that runs every step uses these helpers instead:
/// constants are kept as long-lived scalars, other numbers are disposed right after the call.
/// </summary>
internal static class NativeScalars
{
    /// <summary>The scalar 1, shared for the process (scalars are immutable).</summary>
    public static Scalar One { get; } = 1.ToScalar();

    /// <summary><paramref name="x"/> += <paramref name="y"/>, in place.</summary>
    public static Tensor AddInPlace(this Tensor x, Tensor y) => x.add_(y, One);

    /// <summary><paramref name="x"/> ·= <paramref name="factor"/>, in place.</summary>
    public static Tensor TimesInPlace(this Tensor x, double factor)
    {
        using var f = factor.ToScalar();
        return x.mul_(f);
    }
}
