using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace Ddpm.Imaging;

/// <summary>
/// Training, schedule and evaluation charts as PNG files (ScottPlot 5), <see cref="Width"/>×<see cref="Height"/> pixels (charts against sampling steps <see cref="WideWidth"/> wide), written atomically.
/// </summary>
public static class Plots
{
    /// <summary>Width of every chart in pixels.</summary>
    public const int Width = 800;

    /// <summary>Width of a chart against sampling steps (<see cref="AgainstSteps"/>), whose legend stands beside the data.</summary>
    public const int WideWidth = 1100;

    /// <summary>Height of every chart in pixels.</summary>
    public const int Height = 500;

    /// <summary>Width of each panel of a chart of several panels (<see cref="RateDistortion"/>).</summary>
    public const int PanelWidth = 600;

    /// <summary>Height of the title band above a chart of several panels.</summary>
    private const int TitleHeight = 40;

    /// <summary>
    /// The smoothing span of <see cref="LossCurve"/> is this fraction of the number of points, so the curve looks about
    /// as smooth whether a run logged a hundred points or a hundred thousand.
    /// A small fraction keeps the lag of the average behind a steeply falling early loss hard to see.
    /// </summary>
    public const double SmoothingFraction = 0.02;

    /// <summary>The loss axis is logarithmic when the largest loss is at least this many times the smallest (one decade).</summary>
    public const double LogScaleMinRatio = 10.0;

    /// <summary>Opacity of the raw loss drawn under the smoothed line, faint so the trend stands out.</summary>
    private const double RawOpacity = 0.3;

    /// <summary>Line width in pixels: ScottPlot's 1 px is hard to see on an 800-pixel chart.</summary>
    private const float LineWidth = 2;

    /// <summary>Above this many decades a log axis labels only powers of ten; below, 1, 2 and 5 of each decade.</summary>
    private const int MaxDecadesForOneTwoFive = 6;

    /// <summary>
    /// Training loss against step: the raw values faintly, and over them an exponential moving average with span
    /// max(1, <see cref="SmoothingFraction"/>·n) (see <see cref="ExponentialMovingAverage"/>).
    /// Non-finite losses (a diverged step) are left out. The y axis is logarithmic, labelled with the loss values,
    /// when all losses are positive and span at least <see cref="LogScaleMinRatio"/>; the early steepest part of a
    /// diffusion loss otherwise flattens everything after it.
    /// </summary>
    /// <exception cref="ArgumentException">Lists of different lengths, or no finite loss.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void LossCurve(IReadOnlyList<long> steps, IReadOnlyList<double> losses, string path, string title = "Training loss")
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(losses);
        if (steps.Count != losses.Count)
            throw new ArgumentException($"Steps and losses must have the same length (got {steps.Count} and {losses.Count}).");
        var xs = new List<double>(steps.Count);
        var ys = new List<double>(losses.Count);
        for (var i = 0; i < steps.Count; i++)
        {
            if (!double.IsFinite(losses[i])) continue;
            xs.Add(steps[i]);
            ys.Add(losses[i]);
        }

        if (ys.Count == 0) throw new ArgumentException($"There is no finite loss to plot (got {losses.Count} values).", nameof(losses));
        var smoothed = ExponentialMovingAverage(ys, Math.Max(1.0, SmoothingFraction * ys.Count));
        var logScale = UseLogScale(ys);
        var transform = logScale ? Math.Log10 : (Func<double, double>)(v => v);

        var raw = new PlotSeries("loss", [.. xs], [.. ys.Select(transform)]);
        var trend = new PlotSeries("moving average", [.. xs], [.. smoothed.Select(transform)]);
        Save(path, title, "step", logScale ? "loss (log scale)" : "loss", [raw, trend], plot =>
        {
            var scatters = plot.GetPlottables<ScottPlot.Plottables.Scatter>().ToArray();
            scatters[0].Color = scatters[0].Color.WithOpacity(RawOpacity);
            scatters[0].LineWidth = 1;
            plot.ShowLegend(Alignment.UpperRight); // a falling loss leaves the upper right empty
            if (logScale) UseLogTicks(plot, ys.Min(), ys.Max());
        });
    }

    /// <summary>
    /// The variational bound's terms against the 0-based timestep t (t = 0 is the decoder L_0, t ≥ 1 the KL terms), in
    /// bits/dim: a log axis labelled with the values when all are positive and span a decade, a linear one otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">No finite term.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void BoundTerms(IReadOnlyList<double> bitsPerDim, string path, string title = "Variational bound terms")
    {
        ArgumentNullException.ThrowIfNull(bitsPerDim);
        var points = Enumerable.Range(0, bitsPerDim.Count).Where(t => double.IsFinite(bitsPerDim[t])).ToArray();
        if (points.Length == 0) throw new ArgumentException($"There is no finite term to plot (got {bitsPerDim.Count} values).", nameof(bitsPerDim));
        var ys = points.Select(t => bitsPerDim[t]).ToArray();
        var logScale = UseLogScale(ys);
        var series = new PlotSeries("", [.. points.Select(t => (double)t)], logScale ? [.. ys.Select(Math.Log10)] : ys);
        Save(path, title, "timestep t (0: decoder L_0)", logScale ? "bits/dim (log scale)" : "bits/dim", [series], plot =>
        {
            if (logScale) UseLogTicks(plot, ys.Min(), ys.Max());
        });
    }

    /// <summary>ᾱ_t and √(1 − ᾱ_t) against the 0-based timestep t: how much signal and how much noise x_t holds (Eq. 4).</summary>
    /// <exception cref="ArgumentException">Arrays empty or of different lengths.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void ScheduleCurves(double[] alphaBar, double[] sqrtOneMinusAlphaBar, string path, string title = "Noise schedule")
    {
        ArgumentNullException.ThrowIfNull(alphaBar);
        ArgumentNullException.ThrowIfNull(sqrtOneMinusAlphaBar);
        if (alphaBar.Length != sqrtOneMinusAlphaBar.Length)
            throw new ArgumentException($"ᾱ and √(1−ᾱ) must have the same length (got {alphaBar.Length} and {sqrtOneMinusAlphaBar.Length}).");
        var t = Enumerable.Range(0, alphaBar.Length).Select(i => (double)i).ToArray();
        PlotSeries[] series = [new("ᾱ_t", t, alphaBar), new("√(1−ᾱ_t)", t, sqrtOneMinusAlphaBar)];
        // The curves run from the corners towards the opposite ones, so the middle of the right edge is free.
        Save(path, title, "timestep t", "value", series, plot => plot.ShowLegend(Alignment.MiddleRight));
    }

    /// <summary>A line chart of one or more series, with a legend when any series has a label.</summary>
    /// <exception cref="ArgumentException">No series, an empty series, or a series whose X and Y lengths differ.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void Lines(string path, string title, string xLabel, string yLabel, params PlotSeries[] series) =>
        Save(path, title, xLabel, yLabel, series, _ => { });

    /// <summary>
    /// A metric against the classifier-free guidance scale (linear axes): one line with markers per series, and a dashed
    /// horizontal line per level (the real-data floor, an unconditional model).
    /// </summary>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void AgainstGuidance(string path, string title, string yLabel, PlotSeries[] series, (string Label, double Value)[] levels)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(levels);
        Save(path, title, "guidance scale W (0: unconditional, 1: conditional)", yLabel, series, plot =>
        {
            foreach (var scatter in plot.GetPlottables<ScottPlot.Plottables.Scatter>()) scatter.MarkerSize = 7;
            AddLevels(plot, levels, v => v, series.Length);
            plot.ShowLegend(Edge.Right);
        }, WideWidth);
    }

    /// <summary>A dashed horizontal line per level, coloured after the <paramref name="seriesCount"/> series, labelled with its value.</summary>
    private static void AddLevels(Plot plot, (string Label, double Value)[] levels, Func<double, double> y, int seriesCount)
    {
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < levels.Length; i++)
        {
            var line = plot.Add.HorizontalLine(y(levels[i].Value));
            line.LinePattern = LinePattern.Dashed;
            line.LineWidth = LineWidth;
            line.Color = palette.GetColor(seriesCount + i);
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"{levels[i].Label} ({levels[i].Value:G4})");
        }
    }

    /// <summary>
    /// A metric against sampling steps: one line with markers per series over a log-scaled step axis (labelled with the
    /// step counts), and a dashed horizontal line per level (e.g. the real-data floor, or the full chain to reach).
    /// </summary>
    /// <exception cref="ArgumentException">No series, or a series with a non-positive step.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void AgainstSteps(string path, string title, string yLabel, PlotSeries[] series, (string Label, double Value)[] levels)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(levels);
        if (series.Any(s => s.X is null || s.X.Any(x => !(x > 0))))
            throw new ArgumentException("Steps must be positive for a log axis.", nameof(series));
        // The values axis is logarithmic too when the values span a decade (a 5-step FID of 150 beside a floor of 0.9).
        var values = series.SelectMany(s => s.Y).Concat(levels.Select(l => l.Value)).Where(double.IsFinite).ToArray();
        var logY = UseLogScale(values);
        Func<double, double> y = logY ? Math.Log10 : v => v;
        var logged = series.Select(s => s with { X = [.. s.X.Select(Math.Log10)], Y = [.. s.Y.Select(y)] }).ToArray();
        var steps = series.SelectMany(s => s.X).Distinct().Order().ToArray();
        Save(path, title, "sampling steps (model calls, log scale)", logY ? $"{yLabel} (log scale)" : yLabel, logged, plot =>
        {
            if (logY) UseLogTicks(plot, values.Min(), values.Max());
            foreach (var scatter in plot.GetPlottables<ScottPlot.Plottables.Scatter>()) scatter.MarkerSize = 7;
            AddLevels(plot, levels, y, series.Length);
            var ticks = new ScottPlot.TickGenerators.NumericManual();
            foreach (var step in steps) ticks.AddMajor(Math.Log10(step), step.ToString("G6", CultureInfo.InvariantCulture));
            plot.Axes.Bottom.TickGenerator = ticks;
            plot.ShowLegend(Edge.Right); // beside the data: every corner of a sampler chart holds points
        }, WideWidth);
    }

    /// <summary>
    /// Exponential moving average with the given span (α = 2/(span + 1), as pandas' <c>ewm(span=…, adjust=True)</c>):
    /// each output is the weighted mean of the inputs so far with weights (1 − α)^age, so the start is not pulled
    /// towards zero as a plain recursive EMA would be.
    /// </summary>
    public static double[] ExponentialMovingAverage(IReadOnlyList<double> values, double span)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(span >= 1)) throw new ArgumentException($"The moving-average span must be at least 1 (got {span}).", nameof(span));
        var decay = 1.0 - 2.0 / (span + 1.0);
        var result = new double[values.Count];
        double sum = 0, weight = 0;
        for (var i = 0; i < values.Count; i++)
        {
            sum = sum * decay + values[i];
            weight = weight * decay + 1.0;
            result[i] = sum / weight;
        }

        return result;
    }

    /// <summary>True when a log axis reads better: every value positive and max/min ≥ <see cref="LogScaleMinRatio"/>.</summary>
    internal static bool UseLogScale(IReadOnlyCollection<double> values) =>
        values.Count > 0 && values.All(v => v > 0) && values.Max() / values.Min() >= LogScaleMinRatio;

    /// <summary>
    /// Tick values for a log axis covering [<paramref name="min"/>, <paramref name="max"/>] (both positive), with a decade
    /// to spare on each side for the plot margins: major ticks at 1, 2 and 5 times each power of ten (only the powers
    /// when the data span more than six decades, to keep labels apart), minor ticks at the other integer multiples.
    /// </summary>
    internal static IReadOnlyList<LogTick> LogTicks(double min, double max)
    {
        var low = (int)Math.Floor(Math.Log10(min)) - 1;
        var high = (int)Math.Ceiling(Math.Log10(max)) + 1;
        int[] majors = high - low - 2 > MaxDecadesForOneTwoFive ? [1] : [1, 2, 5];
        var ticks = new List<LogTick>();
        for (var exponent = low; exponent <= high; exponent++)
        {
            var decade = Math.Pow(10, exponent);
            for (var mantissa = 1; mantissa <= 9; mantissa++)
            {
                // Round away the binary noise of mantissa·10^e so labels read 0.2, not 0.20000000000000001.
                var value = double.Parse((mantissa * decade).ToString("G12", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
                ticks.Add(new LogTick(value, majors.Contains(mantissa)));
            }
        }

        return ticks;
    }

    /// <summary>Labels a log10-transformed left axis with the untransformed values (see <see cref="LogTicks"/>).</summary>
    private static void UseLogTicks(Plot plot, double min, double max)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var (value, isMajor) in LogTicks(min, max))
        {
            if (isMajor) ticks.AddMajor(Math.Log10(value), value.ToString("G4", CultureInfo.InvariantCulture));
            else ticks.AddMinor(Math.Log10(value));
        }

        plot.Axes.Left.TickGenerator = ticks;
    }

    private static void Save(string path, string title, string xLabel, string yLabel, PlotSeries[] series, Action<Plot> style, int width = Width) =>
        AtomicFile.WriteAllBytes(path, Render(title, xLabel, yLabel, series, style, width));

    private static byte[] Render(string title, string xLabel, string yLabel, PlotSeries[] series, Action<Plot> style, int width)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Length == 0) throw new ArgumentException("A chart needs at least one series.", nameof(series));
        foreach (var s in series)
        {
            ArgumentNullException.ThrowIfNull(s);
            if (s.X is null || s.Y is null || s.X.Length != s.Y.Length)
                throw new ArgumentException($"Series '{s.Label}' must have as many x as y values (got {s.X?.Length ?? 0} and {s.Y?.Length ?? 0}).");
            if (s.X.Length == 0) throw new ArgumentException($"Series '{s.Label}' has no points.");
        }

        byte[] png;
        using (var plot = new Plot())
        {
            foreach (var s in series)
            {
                var line = plot.Add.ScatterLine(s.X, s.Y);
                line.LegendText = s.Label ?? string.Empty;
                line.LineWidth = LineWidth;
            }

            plot.Title(title ?? string.Empty);
            plot.XLabel(xLabel ?? string.Empty);
            plot.YLabel(yLabel ?? string.Empty);
            if (series.Any(s => !string.IsNullOrEmpty(s.Label))) plot.ShowLegend();
            style(plot);
            png = plot.GetImageBytes(width, Height, ImageFormat.Png);
        }

        return png;
    }

    /// <summary>
    /// The three panels of Fig. 5 of Ho et al. 2020, side by side under <paramref name="title"/>: distortion against
    /// reverse steps, rate against reverse steps, and distortion against rate (each <see cref="PanelWidth"/> wide).
    /// </summary>
    /// <param name="steps">Reverse steps done (T − t with 0-based t).</param>
    /// <param name="rate">Bits/dim sent after each step.</param>
    /// <param name="distortion">RMSE on [0, 255] after each step.</param>
    /// <param name="path">The PNG file to write.</param>
    /// <param name="title">The line above the panels.</param>
    /// <exception cref="ArgumentException">Lists of different lengths or empty.</exception>
    /// <exception cref="IOException">The file cannot be written; the message names the path.</exception>
    public static void RateDistortion(IReadOnlyList<double> steps, IReadOnlyList<double> rate, IReadOnlyList<double> distortion, string path, string title)
    {
        ArgumentNullException.ThrowIfNull(steps);
        ArgumentNullException.ThrowIfNull(rate);
        ArgumentNullException.ThrowIfNull(distortion);
        if (steps.Count != rate.Count || steps.Count != distortion.Count)
            throw new ArgumentException($"Steps, rate and distortion must have the same length (got {steps.Count}, {rate.Count} and {distortion.Count}).");
        double[] x = [.. steps], r = [.. rate], d = [.. distortion];
        const string distortionLabel = "distortion (RMSE, [0, 255])";
        const string rateLabel = "rate (bits/dim)";
        const string stepsLabel = "reverse process steps (T − t)";
        byte[][] panels =
        [
            Render("Distortion", stepsLabel, distortionLabel, [new PlotSeries("", x, d)], _ => { }, PanelWidth),
            Render("Rate", stepsLabel, rateLabel, [new PlotSeries("", x, r)], _ => { }, PanelWidth),
            Render("Rate–distortion", rateLabel, distortionLabel, [new PlotSeries("", r, d)], _ => { }, PanelWidth),
        ];
        using var canvasBitmap = new SKBitmap(PanelWidth * panels.Length, TitleHeight + Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(canvasBitmap))
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(SKTypeface.Default, TitleHeight * 0.5f);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(title ?? string.Empty, canvasBitmap.Width / 2f, TitleHeight * 0.7f, SKTextAlign.Center, font, paint);
            for (var i = 0; i < panels.Length; i++)
            {
                using var panel = SKBitmap.Decode(panels[i]);
                canvas.DrawBitmap(panel, i * PanelWidth, TitleHeight);
            }
        }
        using var image = SKImage.FromBitmap(canvasBitmap);
        using var encoded = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, encoded.ToArray());
    }
}
