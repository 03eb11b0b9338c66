namespace Ddpm.Diffusion;

/// <summary>
/// The short names of the objective's choices, as the <c>ddpm</c> tool spells them and its messages name them:
/// mean types eps, x0, v, mu; variances fixed-small, fixed-large, learned, learned-range; losses simple, kl, hybrid.
/// </summary>
public static class ObjectiveNames
{
    private static readonly (ModelMeanType Value, string Name)[] MeanTypes =
        [(ModelMeanType.Epsilon, "eps"), (ModelMeanType.StartX, "x0"), (ModelMeanType.Velocity, "v"), (ModelMeanType.PreviousX, "mu")];

    private static readonly (ModelVarianceType Value, string Name)[] VarianceTypes =
    [
        (ModelVarianceType.FixedSmall, "fixed-small"), (ModelVarianceType.FixedLarge, "fixed-large"),
        (ModelVarianceType.Learned, "learned"), (ModelVarianceType.LearnedRange, "learned-range"),
    ];

    private static readonly (LossType Value, string Name)[] Losses = [(LossType.Simple, "simple"), (LossType.Kl, "kl"), (LossType.Hybrid, "hybrid")];

    /// <summary>Every mean-type name, in order.</summary>
    public static IReadOnlyList<string> MeanTypeNames { get; } = [.. MeanTypes.Select(m => m.Name)];

    /// <summary>Every variance name, in order.</summary>
    public static IReadOnlyList<string> VarianceNames { get; } = [.. VarianceTypes.Select(m => m.Name)];

    /// <summary>Every loss name, in order.</summary>
    public static IReadOnlyList<string> LossNames { get; } = [.. Losses.Select(m => m.Name)];

    /// <summary>The short name of a mean type.</summary>
    public static string Of(ModelMeanType value) => NameOf(MeanTypes, value);

    /// <summary>The short name of a variance type.</summary>
    public static string Of(ModelVarianceType value) => NameOf(VarianceTypes, value);

    /// <summary>The short name of a loss.</summary>
    public static string Of(LossType value) => NameOf(Losses, value);

    /// <summary>The mean type named <paramref name="name"/>; <see cref="ArgumentException"/> naming the valid ones otherwise.</summary>
    public static ModelMeanType ParseMeanType(string name) => Parse(MeanTypes, name, "mean type");

    /// <summary>The variance type named <paramref name="name"/>; <see cref="ArgumentException"/> naming the valid ones otherwise.</summary>
    public static ModelVarianceType ParseVariance(string name) => Parse(VarianceTypes, name, "variance");

    /// <summary>The loss named <paramref name="name"/>; <see cref="ArgumentException"/> naming the valid ones otherwise.</summary>
    public static LossType ParseLoss(string name) => Parse(Losses, name, "loss");

    private static string NameOf<T>((T Value, string Name)[] table, T value) where T : struct, Enum
    {
        foreach (var (v, n) in table)
            if (EqualityComparer<T>.Default.Equals(v, value)) return n;
        return value.ToString();
    }

    private static T Parse<T>((T Value, string Name)[] table, string name, string what) where T : struct, Enum
    {
        foreach (var (v, n) in table)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
        throw new ArgumentException($"Unknown {what} '{name}'; choose one of {string.Join(", ", table.Select(e => e.Name))}.");
    }
}
