using System.Globalization;

namespace Ddpm.Evaluation;

/// <summary>
/// The mean of per-image measurements (a bound, an error, a PSNR) with its standard error: the sample standard
/// deviation (N − 1 in the denominator) over √N, 0 for a single value.
/// </summary>
/// <param name="Mean">The mean of the values.</param>
/// <param name="StandardError">The standard error of <paramref name="Mean"/>.</param>
/// <param name="Count">How many values.</param>
public readonly record struct MeanEstimate(double Mean, double StandardError, int Count)
{
    /// <summary>The estimate from <paramref name="values"/> (at least one).</summary>
    public static MeanEstimate Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var list = values as IReadOnlyList<double> ?? [.. values];
        if (list.Count == 0) throw new ArgumentException("A mean needs at least one value.", nameof(values));
        var mean = list.Average();
        if (list.Count < 2) return new MeanEstimate(mean, 0, 1);
        var variance = list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1);
        return new MeanEstimate(mean, Math.Sqrt(variance / list.Count), list.Count);
    }

    /// <summary>"mean ± standard error", both in <paramref name="format"/> (invariant culture).</summary>
    public string ToString(string format) =>
        string.Create(CultureInfo.InvariantCulture, $"{Mean.ToString(format, CultureInfo.InvariantCulture)} ± {StandardError.ToString(format, CultureInfo.InvariantCulture)}");
}
