using static TorchSharp.torch;

namespace Ddpm.Sampling;

/// <summary>Bookkeeping shared by samplers: the visiting order and the noise a step draws.</summary>
public abstract class SamplerBase : ISampler
{
    private readonly Dictionary<int, int> positions;

    /// <summary>Creates the bookkeeping for descending <paramref name="timesteps"/>.</summary>
    protected SamplerBase(int[] timesteps)
    {
        TimestepArray = timesteps;
        positions = new Dictionary<int, int>(timesteps.Length);
        for (var i = 0; i < timesteps.Length; i++) positions[timesteps[i]] = i;
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Timesteps => TimestepArray;

    /// <summary>The timesteps in visiting order.</summary>
    protected int[] TimestepArray { get; }

    /// <inheritdoc />
    public abstract bool AddsNoise(int timestep);

    /// <inheritdoc />
    public abstract StepResult Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? noise = null);

    /// <summary>Position of <paramref name="timestep"/> in the visiting order; throws for a timestep this sampler does not visit.</summary>
    protected int PositionOf(int timestep) =>
        positions.TryGetValue(timestep, out var p)
            ? p
            : throw new ArgumentOutOfRangeException(nameof(timestep), timestep, $"Timestep {timestep} is not one of this sampler's {TimestepArray.Length} timesteps.");

    /// <summary>The timestep visited after <paramref name="timestep"/>, or −1 after the last.</summary>
    protected int PreviousTimestep(int timestep)
    {
        var p = PositionOf(timestep);
        return p + 1 < TimestepArray.Length ? TimestepArray[p + 1] : -1;
    }

    /// <summary>The noise for a step: the given tensor (checked against the sample's shape) or a draw from the generator.</summary>
    protected static Tensor StepNoise(Tensor sample, Generator? generator, Tensor? noise)
    {
        if (noise is not null)
        {
            TensorChecks.SameShape(sample, noise, nameof(noise));
            return noise.alias();
        }
        if (generator is null)
            throw new ArgumentException("This step adds noise: pass a generator or the noise itself.", nameof(generator));
        return randn(sample.shape, dtype: sample.dtype, generator: generator);
    }
}
