namespace Ddpm.Schedules;

/// <summary>The shape of the variance schedule β_1..β_T.</summary>
public enum BetaScheduleKind
{
    /// <summary>β linear from β_start to β_end (Ho et al. 2020, §4: 1e-4 to 0.02).</summary>
    Linear,

    /// <summary>β = linspace(√β_start, √β_end)², as in the official DDPM code ("quad").</summary>
    Quadratic,

    /// <summary>β = β_start + (β_end − β_start)·sigmoid(linspace(−6, 6)), as in the official DDPM code.</summary>
    Sigmoid,

    /// <summary>ᾱ(t) = cos²(((t/T) + s)/(1 + s)·π/2), Nichol &amp; Dhariwal 2021, Eq. (17); β clipped at 0.999.</summary>
    Cosine,
}

/// <summary>Builds β_1..β_T in float64 for each <see cref="BetaScheduleKind"/>.</summary>
public static class BetaSchedules
{
    /// <summary>Offset s of the cosine schedule, "slightly" above zero so β_1 is not too small (Nichol &amp; Dhariwal 2021, §3.2).</summary>
    public const double CosineOffset = 0.008;

    /// <summary>Largest β the cosine schedule may take, to avoid a singularity near t = T (Nichol &amp; Dhariwal 2021, §3.2).</summary>
    public const double CosineMaxBeta = 0.999;

    /// <summary>The sigmoid schedule spans sigmoid(−6)..sigmoid(6), as the official code.</summary>
    public const double SigmoidRange = 6.0;

    /// <summary>β_1..β_T for a schedule kind. <paramref name="betaStart"/> and <paramref name="betaEnd"/> are ignored by the cosine schedule.</summary>
    public static double[] Create(BetaScheduleKind kind, int timesteps, double betaStart, double betaEnd)
    {
        if (timesteps < 1) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "The number of timesteps must be at least 1.");
        return kind switch
        {
            BetaScheduleKind.Linear => Linspace(betaStart, betaEnd, timesteps),
            BetaScheduleKind.Quadratic => Linspace(Math.Sqrt(betaStart), Math.Sqrt(betaEnd), timesteps).Select(b => b * b).ToArray(),
            BetaScheduleKind.Sigmoid => Linspace(-SigmoidRange, SigmoidRange, timesteps)
                .Select(x => betaStart + (betaEnd - betaStart) / (1.0 + Math.Exp(-x))).ToArray(),
            BetaScheduleKind.Cosine => Cosine(timesteps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown beta schedule."),
        };
    }

    /// <summary>n points from <paramref name="start"/> to <paramref name="end"/> inclusive, as numpy.linspace.</summary>
    public static double[] Linspace(double start, double end, int n)
    {
        if (n == 1) return [start];
        var step = (end - start) / (n - 1);
        var values = new double[n];
        for (var i = 0; i < n; i++) values[i] = start + i * step;
        values[n - 1] = end;
        return values;
    }

    private static double[] Cosine(int timesteps)
    {
        static double AlphaBar(double t) => Math.Pow(Math.Cos((t + CosineOffset) / (1 + CosineOffset) * Math.PI / 2), 2);
        var betas = new double[timesteps];
        for (var i = 0; i < timesteps; i++)
        {
            var t1 = (double)i / timesteps;
            var t2 = (double)(i + 1) / timesteps;
            betas[i] = Math.Min(1 - AlphaBar(t2) / AlphaBar(t1), CosineMaxBeta);
        }
        return betas;
    }
}
