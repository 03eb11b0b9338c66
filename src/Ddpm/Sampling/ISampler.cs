using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>
/// A reverse-process sampler with a per-step API, in the manner of diffusers' schedulers: the caller runs the
/// model and hands its output to <see cref="Step"/>, so the loop can be driven by hand.
/// </summary>
public interface ISampler
{
    /// <summary>The timesteps (0-based, on the training chain) at which the model is called, in visiting order (descending).</summary>
    IReadOnlyList<int> Timesteps { get; }

    /// <summary>Whether the step at <paramref name="timestep"/> adds fresh noise (and so needs a generator or noise).</summary>
    bool AddsNoise(int timestep);

    /// <summary>
    /// One reverse step from <paramref name="sample"/> x_t at <paramref name="timestep"/> given the model's output.
    /// When the step adds noise, it is <paramref name="noise"/> if given, else a standard normal draw of the sample's
    /// shape from <paramref name="generator"/>; one of them is required then.
    /// </summary>
    StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null);
}
