using static TorchSharp.torch;

namespace Ddpm;

/// <summary>Argument checks on tensors shared by the diffusion math and the samplers.</summary>
internal static class TensorChecks
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="name"/> when <paramref name="actual"/>'s shape is not <paramref name="expected"/>'s.</summary>
    public static void SameShape(Tensor expected, Tensor actual, string name)
    {
        if (!expected.shape.SequenceEqual(actual.shape))
            throw new ArgumentException($"{name} has shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}].", name);
    }
}
