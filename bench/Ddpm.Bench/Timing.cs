using System.Diagnostics;
using static TorchSharp.torch;

namespace Ddpm.Bench;

/// <summary>The reference's method: warm-up iterations, then the median of the timed ones.</summary>
internal static class Timing
{
    /// <summary>
    /// Runs <paramref name="warmup"/> untimed and <paramref name="iterations"/> timed calls of <paramref name="body"/>,
    /// each inside its own dispose scope so every tensor it made is freed before the next; returns the timed seconds.
    /// <paramref name="afterWarmup"/> runs once between the two, untimed.
    /// </summary>
    public static List<double> Measure(string row, Action body, int warmup, int iterations, Action? afterWarmup = null)
    {
        for (var i = 0; i < warmup; i++)
        {
            var clock = Stopwatch.StartNew();
            using (var scope = NewDisposeScope()) body();
            Log($"{row}: warm-up {i + 1}/{warmup} {clock.Elapsed.TotalSeconds:F3} s");
        }
        afterWarmup?.Invoke();
        var seconds = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            using var scope = NewDisposeScope();
            var clock = Stopwatch.StartNew();
            body();
            var elapsed = clock.Elapsed.TotalSeconds;
            seconds.Add(elapsed);
            Log($"{row}: iteration {i + 1}/{iterations} {elapsed:F3} s");
        }
        return seconds;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Progress goes to stderr: stdout of a row process carries only its JSON result.</summary>
    public static void Log(string message) => Console.Error.WriteLine("  " + message);
}
