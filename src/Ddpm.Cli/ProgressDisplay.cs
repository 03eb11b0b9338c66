using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Ddpm.Cli;

/// <summary>Where long work reports how far it is.</summary>
internal interface IProgressSink
{
    /// <summary>Sets the amount done (out of the total) and the status text.</summary>
    void Update(double done, string status);

    /// <summary>Prints a line above the bar (a file written, a phase change).</summary>
    void Log(string line);
}

/// <summary>How far a run is and when it will end: the fraction done (0..1) and the time left, when known.</summary>
internal sealed record ProgressEstimate(double Fraction, TimeSpan? Remaining)
{
    /// <summary>
    /// The estimate for <paramref name="done"/> of <paramref name="total"/> units after <paramref name="elapsed"/>,
    /// <paramref name="startDone"/> of them done before the clock started (a resumed run). Without a time limit the
    /// fraction is done/total and the time left follows the rate since the start. With <paramref name="timeLimit"/>,
    /// the run ends at whichever comes first, the last unit or the limit; when the limit does, the fraction is
    /// elapsed/limit and the time left is what remains of the limit.
    /// </summary>
    public static ProgressEstimate Compute(double done, double total, double startDone, TimeSpan elapsed, TimeSpan? timeLimit = null)
    {
        var fraction = total > 0 ? Math.Clamp(done / total, 0, 1) : 1;
        var rate = elapsed.TotalSeconds > 0 ? (done - startDone) / elapsed.TotalSeconds : 0;
        TimeSpan? remaining = rate > 0 ? TimeSpan.FromSeconds(Math.Max(total - done, 0) / rate) : null;
        if (timeLimit is not { } limit || limit <= TimeSpan.Zero) return new ProgressEstimate(fraction, remaining);
        var left = limit > elapsed ? limit - elapsed : TimeSpan.Zero;
        if (remaining is { } r && r <= left) return new ProgressEstimate(fraction, remaining);
        // The limit ends the run first (or the rate is not known yet): progress is measured in time.
        return new ProgressEstimate(Math.Clamp(elapsed / limit, 0, 1), left);
    }
}

/// <summary>
/// A progress bar with rate and ETA (Spectre.Console) on an interactive terminal; on a pipe or log file,
/// a plain status line every few seconds instead, so logs stay readable.
/// </summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Runs <paramref name="work"/> with a progress display of <paramref name="total"/> units; with
    /// <paramref name="timeLimit"/>, percentage and ETA follow the limit when it ends the run first.
    /// </summary>
    public static T Run<T>(string title, double total, Func<IProgressSink, T> work, TimeSpan? timeLimit = null)
    {
        if (AnsiConsole.Profile.Capabilities.Interactive && !Console.IsErrorRedirected)
        {
            T result = default!;
            AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(total, 1));
                    result = work(new SpectreSink(task, title, total, timeLimit));
                });
            return result;
        }
        var sink = new PlainSink(title, total, timeLimit);
        var value = work(sink);
        sink.Finish();
        return value;
    }

    private sealed class SpectreSink(ProgressTask task, string title, double total, TimeSpan? timeLimit) : IProgressSink
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private double startDone = double.NaN;

        public void Update(double done, string status)
        {
            if (double.IsNaN(startDone)) startDone = done;
            // The bar's own percentage and remaining-time columns follow the value, so it carries the estimate's fraction.
            task.Value = timeLimit is null ? done : ProgressEstimate.Compute(done, total, startDone, clock.Elapsed, timeLimit).Fraction * task.MaxValue;
            task.Description = Markup.Escape($"{title} {status}");
        }

        public void Log(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
    }

    private sealed class PlainSink(string title, double total, TimeSpan? timeLimit) : IProgressSink
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private TimeSpan lastPrint = TimeSpan.Zero;
        private double done;
        private string status = "";
        private double startDone = double.NaN;

        public void Update(double value, string text)
        {
            if (double.IsNaN(startDone)) startDone = value;
            done = value;
            status = text;
            if (clock.Elapsed - lastPrint >= PlainInterval) Print();
        }

        public void Log(string line) => Console.Error.WriteLine(line);

        public void Finish() => Print();

        private void Print()
        {
            lastPrint = clock.Elapsed;
            var estimate = ProgressEstimate.Compute(done, total, double.IsNaN(startDone) ? 0 : startDone, clock.Elapsed, timeLimit);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{title} {estimate.Fraction * 100,5:F1}% {status} elapsed {clock.Elapsed:hh\\:mm\\:ss} eta {(estimate.Remaining is { } e ? e.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "--:--:--")}"));
        }
    }
}
