using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using SkiaSharp;

namespace Ddpm.Tests.Imaging;

public class PlotsTests
{
    [Fact]
    public void LossCurve_writes_a_png_of_the_chart_size()
    {
        using var dir = new TempFolder();
        var steps = Enumerable.Range(0, 400).Select(i => (long)i * 10).ToArray();
        var losses = steps.Select(s => 1.0 / (1 + s / 100.0) + 0.02 * Math.Sin(s)).ToList();
        losses[17] = double.NaN; // a diverged step is skipped, not fatal
        var path = dir.File("plots/loss.png");
        Plots.LossCurve(steps, losses, path);
        AssertPng(path);
    }

    [Fact]
    public void ScheduleCurves_and_Lines_write_pngs()
    {
        using var dir = new TempFolder();
        var alphaBar = new double[100];
        var product = 1.0;
        for (var t = 0; t < 100; t++) alphaBar[t] = product *= 1 - (1e-4 + t * 2e-4);
        var noise = alphaBar.Select(a => Math.Sqrt(1 - a)).ToArray();
        Plots.ScheduleCurves(alphaBar, noise, dir.File("schedule.png"), "Linear schedule, T = 100");
        AssertPng(dir.File("schedule.png"));

        Plots.Lines(dir.File("lines.png"), "FID", "step", "FID", new PlotSeries("ema", [1, 2, 3], [30, 20, 15]), new PlotSeries("", [1, 3], [35, 25]));
        AssertPng(dir.File("lines.png"));
    }

    [Fact]
    public void Moving_average_is_bias_corrected()
    {
        Assert.Equal(new[] { 5.0, 5.0, 5.0 }, Plots.ExponentialMovingAverage([5, 5, 5], 10));
        Assert.Equal(new[] { 1.0, 2.0, 3.0 }, Plots.ExponentialMovingAverage([1, 2, 3], 1)); // span 1: no smoothing
        var ema = Plots.ExponentialMovingAverage([0, 3], 3); // α = 0.5: (0·0.5 + 3) / (0.5 + 1)
        Assert.Equal(2.0, ema[1], 12);
        Assert.Throws<ArgumentException>(() => Plots.ExponentialMovingAverage([1], 0.5));
    }

    [Fact]
    public void Log_scale_is_used_only_for_positive_values_spanning_a_decade()
    {
        Assert.True(Plots.UseLogScale([1.0, 0.05]));
        Assert.False(Plots.UseLogScale([0.2, 0.05]));
        Assert.False(Plots.UseLogScale([1.0, 0.0]));
        Assert.False(Plots.UseLogScale([-1.0, 20.0]));
    }

    [Fact]
    public void Log_ticks_label_one_two_five_of_each_decade()
    {
        var ticks = Plots.LogTicks(0.03, 0.9);
        var majors = ticks.Where(t => t.IsMajor).Select(t => t.Value).ToArray();
        Assert.Equal(new[] { 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50 }, majors);
        Assert.Contains(ticks, t => t.Value == 0.03 && !t.IsMajor);

        var wide = Plots.LogTicks(1e-6, 10); // seven decades: powers of ten only
        Assert.All(wide.Where(t => t.IsMajor), t => Assert.Equal(Math.Round(Math.Log10(t.Value)), Math.Log10(t.Value), 9));
    }

    [Fact]
    public void Bad_input_is_rejected_clearly()
    {
        using var dir = new TempFolder();
        var path = dir.File("x.png");
        Assert.Throws<ArgumentException>(() => Plots.LossCurve([1, 2], [0.5], path));
        Assert.Throws<ArgumentException>(() => Plots.LossCurve([], [], path));
        Assert.Throws<ArgumentException>(() => Plots.LossCurve([1], [double.NaN], path));
        Assert.Throws<ArgumentException>(() => Plots.ScheduleCurves([1, 0.5], [0], path));
        Assert.Throws<ArgumentException>(() => Plots.Lines(path, "t", "x", "y"));
        Assert.Throws<ArgumentException>(() => Plots.Lines(path, "t", "x", "y", new PlotSeries("s", [1, 2], [1])));
        Assert.False(File.Exists(path));

        var file = dir.File("file");
        File.WriteAllText(file, "x");
        var target = Path.Combine(file, "loss.png");
        var e = Assert.Throws<IOException>(() => Plots.LossCurve([1, 2], [0.5, 0.4], target));
        Assert.Contains(target, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static void AssertPng(string path)
    {
        Assert.True(File.Exists(path));
        using var codec = SKCodec.Create(path);
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        using var bitmap = SKBitmap.Decode(path);
        Assert.NotNull(bitmap);
        Assert.Equal((Plots.Width, Plots.Height), (bitmap.Width, bitmap.Height));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
    }
}
