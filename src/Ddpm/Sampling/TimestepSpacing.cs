namespace Ddpm.Sampling;

/// <summary>How a sampler with fewer steps than T picks its timesteps (diffusers' <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary>t = i·⌊T/n⌋ + offset for i = 0..n−1 (DDIM's "uniform" skip; diffusers' default).</summary>
    Leading,

    /// <summary>t = round(linspace(0, T − 1, n)): both ends of the chain are visited (Nichol &amp; Dhariwal 2021's respacing).</summary>
    Linspace,

    /// <summary>t = round(T − i·T/n) − 1 for i = 0..n−1: starts at T − 1 (Lin et al. 2023, Table 2).</summary>
    Trailing,
}

/// <summary>Builds the descending list of timesteps a sampler visits.</summary>
public static class SamplingTimesteps
{
    /// <summary>
    /// <paramref name="steps"/> distinct timesteps in 0..<paramref name="trainTimesteps"/>−1, in the order they are visited (descending).
    /// </summary>
    public static int[] Create(TimestepSpacing spacing, int trainTimesteps, int steps, int offset = 0)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of sampling steps must be at least 1.");
        if (steps > trainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Cannot sample in more steps ({steps}) than the chain has timesteps ({trainTimesteps}).");
        int[] ascending;
        switch (spacing)
        {
            case TimestepSpacing.Leading:
                var ratio = trainTimesteps / steps;
                ascending = Enumerable.Range(0, steps).Select(i => i * ratio + offset).ToArray();
                break;
            case TimestepSpacing.Linspace:
                ascending = Schedules.BetaSchedules.Linspace(0, trainTimesteps - 1, steps)
                    .Select(v => (int)Math.Round(v, MidpointRounding.ToEven)).ToArray();
                break;
            case TimestepSpacing.Trailing:
                var stride = (double)trainTimesteps / steps;
                ascending = Enumerable.Range(0, steps).Select(i => (int)Math.Round(trainTimesteps - i * stride, MidpointRounding.ToEven) - 1)
                    .Reverse().ToArray();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "Unknown timestep spacing.");
        }
        return Checked(ascending, spacing, trainTimesteps, steps, offset);
    }

    /// <summary>
    /// The timesteps of diffusers' multistep solvers (DPMSolverMultistepScheduler, UniPCMultistepScheduler), which split the chain
    /// into <paramref name="steps"/> + 1 points and drop the one nearest t = 0, whose state the solver's final point stands for:
    /// linspace visits round(linspace(0, T − 1, n + 1))[1..], leading visits i·⌊T/(n + 1)⌋ + offset for i = 1..n, and trailing is
    /// <see cref="TimestepSpacing.Trailing"/>. Descending. Where diffusers would repeat a timestep (n close to T) this throws.
    /// </summary>
    public static int[] CreateMultistep(TimestepSpacing spacing, int trainTimesteps, int steps, int offset = 0)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of sampling steps must be at least 1.");
        if (steps > trainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Cannot sample in more steps ({steps}) than the chain has timesteps ({trainTimesteps}).");
        int[] ascending;
        switch (spacing)
        {
            case TimestepSpacing.Leading:
                var ratio = trainTimesteps / (steps + 1);
                ascending = Enumerable.Range(1, steps).Select(i => i * ratio + offset).ToArray();
                break;
            case TimestepSpacing.Linspace:
                ascending = Schedules.BetaSchedules.Linspace(0, trainTimesteps - 1, steps + 1).Skip(1)
                    .Select(v => (int)Math.Round(v, MidpointRounding.ToEven)).ToArray();
                break;
            case TimestepSpacing.Trailing:
                return Create(spacing, trainTimesteps, steps, offset);
            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, "Unknown timestep spacing.");
        }
        return Checked(ascending, spacing, trainTimesteps, steps, offset);
    }

    private static int[] Checked(int[] ascending, TimestepSpacing spacing, int trainTimesteps, int steps, int offset)
    {
        if (ascending.Distinct().Count() != ascending.Length || ascending[0] < 0 || ascending[^1] >= trainTimesteps)
            throw new ArgumentException($"{spacing} spacing of {steps} steps over {trainTimesteps} timesteps (offset {offset}) does not give distinct timesteps in range.");
        return ascending.Reverse().ToArray();
    }
}
