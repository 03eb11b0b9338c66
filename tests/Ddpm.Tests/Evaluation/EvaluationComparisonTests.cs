using Ddpm.Checkpoints;
using Ddpm.Evaluation;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests.Evaluation;

/// <summary><see cref="EvaluationComparison"/> and <c>ddpm compare</c>: eval.json folders as a table and a chart of a metric against steps.</summary>
public sealed class EvaluationComparisonTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string Eval(string name, string? sampler, int? steps, double fid, string? clip = "clip", int n = 100, string reference = "fashion-mnist train (60000 images)")
    {
        var dir = Path.Combine(temp.Path, name);
        Directory.CreateDirectory(dir);
        var record = new EvaluationRecord
        {
            Source = sampler is null ? "fashion-mnist test (first 100 images)" : "models/x",
            Sampler = sampler,
            Steps = steps,
            Clip = sampler is null ? null : clip,
            Reference = reference,
            ExtractorSha256 = "abc",
            SampleSeconds = sampler is null ? 0 : 12.3,
            Metrics = new QualityReport(60000, n, fid, fid / 1000, 0.001, null, null, 0.8, 0.7),
        };
        ConfigJson.Save(record, Path.Combine(dir, EvaluationRun.JsonFile));
        return dir;
    }

    [Fact]
    public void Runs_group_by_sampler_and_clip_and_sort_by_steps()
    {
        var runs = new[]
        {
            Eval("ddim-20", "DDIM", 20, 5.5), Eval("ddim-10", "DDIM", 10, 8.25), Eval("ddim-10-none", "DDIM", 10, 7.0, "none"),
            Eval("unipc-10", "UniPC-bh2(2)", 10, 6.0, "none (solver)"),
        }.Select(EvaluatedRun.Load).ToList();
        var floor = EvaluatedRun.Load(Eval("floor", null, null, 0.9));
        var comparison = new EvaluationComparison(runs, [floor]);
        Assert.Equal(["DDIM", "DDIM, x̂0 none", "UniPC-bh2(2)"], comparison.Series.Select(s => s.Name));
        Assert.Equal([10, 20], comparison.Series[0].Runs.Select(r => r.Record.Steps ?? 0));
        var table = comparison.Markdown().Split('\n');
        Assert.Contains("| sampler | 10 steps | 20 steps |", table);
        Assert.Contains("| DDIM | 8.25 (12) | 5.50 (12) |", table);
        Assert.Contains("| DDIM, x̂0 none | 7.00 (12) | – |", table);
        Assert.Contains("| fashion-mnist test (first 100 images) | 0.90 |", table);
        var png = Path.Combine(temp.Path, "fid.png");
        comparison.SavePlot(png);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void Guided_runs_compare_against_the_guidance_scale_with_their_class_accuracy()
    {
        string Guided(string name, double w, double fid, double accuracy)
        {
            var dir = Eval(name, "DDIM", 100, fid, "clip-eps");
            var path = Path.Combine(dir, EvaluationRun.JsonFile);
            ConfigJson.Save(ConfigJson.Load<EvaluationRecord>(path) with { Guidance = w, ClassAccuracy = accuracy }, path);
            return dir;
        }
        var runs = new[] { Guided("w2", 2, 6, 0.97), Guided("w0", 0, 9, 0.6), Guided("w1", 1, 5, 0.9) }.Select(EvaluatedRun.Load).ToList();
        var unconditional = EvaluatedRun.Load(Eval("plain", "DDIM", 100, 7, "clip-eps"));
        var fid = new EvaluationComparison(runs, [unconditional], QualityMetric.Fid, ComparisonAxis.Guidance);
        Assert.Equal(["DDIM, x̂0 clip-eps-100"], fid.Series.Select(s => s.Name));
        Assert.Contains("| DDIM, x̂0 clip-eps-100 | 9.00 (12) | 5.00 (12) | 6.00 (12) |", fid.Markdown().Split('\n'));
        Assert.Contains("| sampler | guidance 0 | guidance 1 | guidance 2 |", fid.Markdown().Split('\n'));
        var png = Path.Combine(temp.Path, "guidance.png");
        fid.SavePlot(png);
        Assert.True(new FileInfo(png).Length > 1000);
        var accuracy = new EvaluationComparison(runs, [], QualityMetric.ClassAccuracy, ComparisonAxis.Guidance);
        Assert.Contains("| DDIM, x̂0 clip-eps-100 | 0.600 (12) | 0.900 (12) | 0.970 (12) |", accuracy.Markdown().Split('\n'));
        // An unconditional run has neither a guidance scale nor a class accuracy.
        Assert.Throws<ArgumentException>(() => new EvaluationComparison([unconditional], [], QualityMetric.Fid, ComparisonAxis.Guidance));
        Assert.Throws<ArgumentException>(() => new EvaluationComparison(runs, [unconditional], QualityMetric.ClassAccuracy, ComparisonAxis.Guidance));
    }

    [Fact]
    public void Different_n_or_references_or_a_real_data_run_are_refused()
    {
        var a = EvaluatedRun.Load(Eval("a", "DDIM", 10, 5));
        var b = EvaluatedRun.Load(Eval("b", "DDIM", 20, 5, n: 200));
        var c = EvaluatedRun.Load(Eval("c", "DDIM", 20, 5, reference: "fashion-mnist test (10000 images)"));
        var real = EvaluatedRun.Load(Eval("real", null, null, 1));
        Assert.Contains("different numbers of images", Assert.Throws<ArgumentException>(() => new EvaluationComparison([a, b])).Message);
        Assert.Contains("different references", Assert.Throws<ArgumentException>(() => new EvaluationComparison([a, c])).Message);
        Assert.Contains("give it as a line", Assert.Throws<ArgumentException>(() => new EvaluationComparison([a, real])).Message);
        Assert.Throws<FileNotFoundException>(() => EvaluatedRun.Load(Path.Combine(temp.Path, "missing")));
    }

    [Fact]
    public void Compare_command_prints_the_table_writes_the_chart_and_names_a_missing_folder_in_one_line()
    {
        var ddim = Eval("ddim-10", "DDIM", 10, 8.25);
        var full = Eval("ddpm-1000", "DDPM", 1000, 3.5);
        var png = Path.Combine(temp.Path, "out", "fid.png");
        var md = Path.Combine(temp.Path, "out", "fid.md");
        var ok = CliRunner.Run("compare", ddim, "--line", full, "--plot", png, "--markdown", md);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Contains("| DDIM | 8.25 (12) |", ok.Stdout);
        Assert.Contains("| DDPM-1000 | 3.50 (12) |", File.ReadAllText(md));
        Assert.True(File.Exists(png));

        var bad = CliRunner.Run("compare", Path.Combine(temp.Path, "nowhere"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("holds no eval.json", bad.Stderr);
    }
}
