using System.Globalization;
using System.Text;
using Ddpm.Checkpoints;
using Ddpm.Imaging;

namespace Ddpm.Evaluation;

/// <summary>A metric of <see cref="QualityReport"/> that a comparison reads.</summary>
public enum QualityMetric
{
    /// <summary>FID.</summary>
    Fid,

    /// <summary>KID (mean over subsets).</summary>
    Kid,

    /// <summary>Precision (k = 3).</summary>
    Precision,

    /// <summary>Recall (k = 3).</summary>
    Recall,

    /// <summary>The share of a class-conditional model's samples classified as the class they were drawn for.</summary>
    ClassAccuracy,
}

/// <summary>What a comparison puts on its horizontal axis.</summary>
public enum ComparisonAxis
{
    /// <summary>Sampling steps (model calls), on a log scale; a series per sampler.</summary>
    Steps,

    /// <summary>The classifier-free guidance scale; a series per sampler and step count.</summary>
    Guidance,
}

/// <summary>One evaluation folder read back: where it is and its <c>eval.json</c>.</summary>
public sealed record EvaluatedRun(string Directory, EvaluationRecord Record)
{
    /// <summary>
    /// The series a sampled run belongs to: its sampler and, for DDPM and DDIM, its x̂_0 handling when not the default
    /// clip (e.g. <c>DDIM</c>, <c>DDIM, x̂0 none</c>, <c>DPM-Solver++(3M)</c>); null for real or imported images.
    /// </summary>
    public string? Series => Record.Sampler is not { } s ? null
        : Record.Clip is null or "clip" || Record.Clip.StartsWith("none (", StringComparison.Ordinal) ? s : $"{s}, x̂0 {Record.Clip}";

    /// <summary>A one-line label: the series and step count, or the source of unsampled images.</summary>
    public string Label => Series is { } s ? $"{s}-{Record.Steps}" : Record.Source;

    /// <summary>Reads <c>eval.json</c> of <paramref name="directory"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder holds no finished evaluation.</exception>
    public static EvaluatedRun Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var path = Path.Combine(directory, EvaluationRun.JsonFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{directory} holds no {EvaluationRun.JsonFile} (an unfinished or missing evaluation).", path);
        return new EvaluatedRun(directory, ConfigJson.Load<EvaluationRecord>(path));
    }

    /// <summary>The value of <paramref name="metric"/>.</summary>
    public double Value(QualityMetric metric) => metric switch
    {
        QualityMetric.Fid => Record.Metrics.Fid,
        QualityMetric.Kid => Record.Metrics.KidMean,
        QualityMetric.Precision => Record.Metrics.Precision,
        QualityMetric.Recall => Record.Metrics.Recall,
        QualityMetric.ClassAccuracy => Record.ClassAccuracy ?? double.NaN,
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };
}

/// <summary>
/// Sampled evaluations side by side: a metric against sampling steps, one series per sampler (and x̂_0 handling), with
/// other evaluations (the real-data floor, DDPM with its full chain) as horizontal lines to reach; as a Markdown table
/// and a PNG chart. What <c>ddpm compare</c> prints and draws.
/// </summary>
public sealed class EvaluationComparison
{
    /// <summary>Compares <paramref name="runs"/> (sampled evaluations) with <paramref name="lines"/> (any evaluations, drawn as levels).</summary>
    /// <exception cref="ArgumentException">A run without a sampler, or evaluations at different N or against different references.</exception>
    public EvaluationComparison(IReadOnlyList<EvaluatedRun> runs, IReadOnlyList<EvaluatedRun>? lines = null, QualityMetric metric = QualityMetric.Fid,
        ComparisonAxis axis = ComparisonAxis.Steps)
    {
        ArgumentNullException.ThrowIfNull(runs);
        lines ??= [];
        if (runs.Count == 0) throw new ArgumentException("Nothing to compare: give at least one sampled evaluation.", nameof(runs));
        foreach (var run in runs)
            if (run.Series is null) throw new ArgumentException($"{run.Directory} scores {run.Record.Source}, not sampled images; give it as a line.");
        var all = runs.Concat(lines).ToList();
        if (all.Select(r => r.Record.Metrics.GeneratedCount).Distinct().Count() > 1)
            throw new ArgumentException($"The evaluations score different numbers of images ({string.Join(", ", all.Select(r => r.Record.Metrics.GeneratedCount).Distinct())}); FID is biased by N, compare at one N.");
        if (all.Select(r => (r.Record.Reference, r.Record.ExtractorSha256)).Distinct().Count() > 1)
            throw new ArgumentException("The evaluations use different references or feature networks.");
        if (axis == ComparisonAxis.Guidance && runs.FirstOrDefault(r => r.Record.Guidance is null) is { } unguided)
            throw new ArgumentException($"{unguided.Directory} was not drawn from a class-conditional model: it has no guidance scale.");
        if (metric == QualityMetric.ClassAccuracy && all.FirstOrDefault(r => r.Record.ClassAccuracy is null) is { } unclassified)
            throw new ArgumentException($"{unclassified.Directory} has no class accuracy (not a class-conditional model's samples, or a feature network without classes).");
        Metric = metric;
        Axis = axis;
        Series = [.. runs.GroupBy(r => axis == ComparisonAxis.Steps ? r.Series! : $"{r.Series}-{r.Record.Steps}")
            .Select(g => (g.Key, (IReadOnlyList<EvaluatedRun>)[.. g.OrderBy(X)]))];
        Lines = lines;
        Count = all[0].Record.Metrics.GeneratedCount;
        Reference = all[0].Record.Reference;
    }

    /// <summary>The metric compared.</summary>
    public QualityMetric Metric { get; }

    /// <summary>The horizontal axis.</summary>
    public ComparisonAxis Axis { get; }

    /// <summary>A run's place on the horizontal axis: its steps or its guidance scale.</summary>
    private double X(EvaluatedRun run) => Axis == ComparisonAxis.Steps ? run.Record.Steps ?? 0 : run.Record.Guidance ?? 1;

    private string Column(double x) => Axis == ComparisonAxis.Steps
        ? string.Create(CultureInfo.InvariantCulture, $"{x:G6} steps")
        : string.Create(CultureInfo.InvariantCulture, $"guidance {x:G6}");

    /// <summary>Each series (name, runs by increasing steps), in the order the runs were given.</summary>
    public IReadOnlyList<(string Name, IReadOnlyList<EvaluatedRun> Runs)> Series { get; }

    /// <summary>Levels to reach.</summary>
    public IReadOnlyList<EvaluatedRun> Lines { get; }

    /// <summary>The N of every evaluation.</summary>
    public int Count { get; }

    /// <summary>The reference of every evaluation.</summary>
    public string Reference { get; }

    /// <summary>The metric's name as a column header.</summary>
    public string MetricName => Metric switch
    {
        QualityMetric.Fid => "FID",
        QualityMetric.Kid => "KID",
        QualityMetric.Precision => "precision",
        QualityMetric.Recall => "recall",
        _ => "classified as asked",
    };

    private string Format(double v) => v.ToString(Metric == QualityMetric.Kid ? "F5" : Metric == QualityMetric.Fid ? "F2" : "F3", CultureInfo.InvariantCulture);

    /// <summary>
    /// The Markdown table: a row per series, a column per step count, and, per cell, the metric and the sampling wall
    /// time in seconds when recorded; then the levels.
    /// </summary>
    public string Markdown()
    {
        var columns = Series.SelectMany(s => s.Runs).Select(X).Distinct().Order().ToArray();
        var b = new StringBuilder();
        b.AppendLine(CultureInfo.InvariantCulture, $"{MetricName} at N = {Count} against {Reference}; sampling wall time in seconds in brackets.").AppendLine();
        b.Append("| sampler | ").AppendJoin(" | ", columns.Select(Column)).AppendLine(" |");
        b.Append("|---|").AppendJoin("", columns.Select(_ => "---:|")).AppendLine();
        foreach (var (name, runs) in Series)
        {
            b.Append("| ").Append(name).Append(" |");
            foreach (var k in columns)
            {
                var run = runs.FirstOrDefault(r => X(r) == k);
                b.Append(' ').Append(run is null ? "–" : Cell(run)).Append(" |");
            }
            b.AppendLine();
        }
        if (Lines.Count > 0)
        {
            b.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"| level | {MetricName} |").AppendLine("|---|---:|");
            foreach (var line in Lines) b.AppendLine(CultureInfo.InvariantCulture, $"| {line.Label} | {Cell(line)} |");
        }
        return b.ToString();
    }

    private string Cell(EvaluatedRun run)
    {
        var value = Format(run.Value(Metric));
        return run.Record.SampleSeconds > 0 ? string.Create(CultureInfo.InvariantCulture, $"{value} ({run.Record.SampleSeconds:F0})") : value;
    }

    /// <summary>The chart: the metric against steps (log axis) or guidance, a line per series, a dashed level per line.</summary>
    public void SavePlot(string path, string? title = null)
    {
        PlotSeries[] series = [.. Series.Select(s => new PlotSeries(s.Name, [.. s.Runs.Select(X)], [.. s.Runs.Select(r => r.Value(Metric))]))];
        (string, double)[] levels = [.. Lines.Select(l => (l.Label, l.Value(Metric))).Where(l => double.IsFinite(l.Item2))];
        if (Axis == ComparisonAxis.Steps)
            Plots.AgainstSteps(path, title ?? $"{MetricName} against sampling steps (N = {Count})", MetricName, series, levels);
        else
            Plots.AgainstGuidance(path, title ?? $"{MetricName} against classifier-free guidance (N = {Count})", MetricName, series, levels);
    }
}
