using System.Globalization;
using System.Text;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// Sample quality during training (<c>ddpm train --eval-every N --eval-count M</c>): every <see cref="Every"/> steps,
/// <see cref="Count"/> EMA samples (the training-time sampler), rounded to 8-bit pixels as <c>ddpm eval</c> does, are
/// scored against the reference features. Results go to <c>eval.csv</c> (its own file: evaluations are sparse, and
/// <c>metrics.csv</c> keeps one fixed row per step), TensorBoard (<c>eval/fid</c>, <c>eval/kid</c>) and <c>fid.png</c>.
/// The extractor is the caller's and is not disposed here.
/// </summary>
public sealed class TrainingEvaluation
{
    /// <summary>The CSV header of <c>eval.csv</c>.</summary>
    public const string Header = "step,fid,kid_mean,kid_std,count";

    /// <summary>Evaluates every <paramref name="every"/> steps with <paramref name="count"/> samples against <paramref name="reference"/>.</summary>
    public TrainingEvaluation(IFeatureExtractor extractor, FeatureSet reference, long every, int count, QualityOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 2);
        Extractor = extractor;
        Reference = reference;
        Every = every;
        Count = count;
        Options = options ?? new QualityOptions();
    }

    /// <summary>The feature network.</summary>
    public IFeatureExtractor Extractor { get; }

    /// <summary>The reference features.</summary>
    public FeatureSet Reference { get; }

    /// <summary>Steps between evaluations.</summary>
    public long Every { get; }

    /// <summary>Samples per evaluation.</summary>
    public int Count { get; }

    /// <summary>Metric settings.</summary>
    public QualityOptions Options { get; }

    /// <summary>Scores samples [N, C, H, W] in [−1, 1] after rounding them to bytes (as PNG files hold them).</summary>
    public QualityReport Score(Tensor samples)
    {
        using var scope = NewDisposeScope();
        var rounded = ByteImages.FromTensor(samples).ToTensor();
        var features = FeatureSet.Compute(Extractor, [rounded]);
        return SampleQuality.Compute(Reference, features, Options);
    }

    /// <summary>Opens <c>eval.csv</c> of a run, keeping only rows up to <paramref name="resumeStep"/> (as <see cref="MetricsLog"/>).</summary>
    public static string OpenCsv(string runDirectory, long resumeStep)
    {
        var path = Path.Combine(runDirectory, "eval.csv");
        var content = new StringBuilder(Header).Append('\n');
        foreach (var (step, line) in ReadRows(path))
            if (step <= resumeStep) content.Append(line).Append('\n');
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(content.ToString()));
        return path;
    }

    /// <summary>Appends one evaluation to <c>eval.csv</c> and redraws <c>fid.png</c> beside it.</summary>
    public static void Append(string csvPath, long step, QualityReport r)
    {
        File.AppendAllText(csvPath, string.Create(CultureInfo.InvariantCulture, $"{step},{r.Fid:R},{r.KidMean:R},{r.KidStd:R},{r.GeneratedCount}\n"));
        var rows = ReadRows(csvPath).Select(p => p.Line.Split(',')).ToList();
        if (rows.Count == 0) return;
        var x = rows.Select(p => double.Parse(p[0], CultureInfo.InvariantCulture)).ToArray();
        var y = rows.Select(p => double.Parse(p[1], CultureInfo.InvariantCulture)).ToArray();
        Plots.Lines(Path.Combine(Path.GetDirectoryName(csvPath)!, "fid.png"), $"FID of {r.GeneratedCount} EMA samples", "training step", "FID",
            new PlotSeries("FID", x, y));
    }

    private static IEnumerable<(long Step, string Line)> ReadRows(string path)
    {
        if (!File.Exists(path)) yield break;
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var comma = line.IndexOf(',', StringComparison.Ordinal);
            if (comma > 0 && long.TryParse(line.AsSpan(0, comma), NumberStyles.None, CultureInfo.InvariantCulture, out var step))
                yield return (step, line);
        }
    }
}
