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

/// <summary>
/// A progress bar with rate and ETA (Spectre.Console) on an interactive terminal; on a pipe or log file,
/// a plain status line every few seconds instead, so logs stay readable.
/// </summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(20);

    public static T Run<T>(string title, double total, Func<IProgressSink, T> work)
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
                    result = work(new SpectreSink(task, title));
                });
            return result;
        }
        var sink = new PlainSink(title, total);
        var value = work(sink);
        sink.Finish();
        return value;
    }

    private sealed class SpectreSink(ProgressTask task, string title) : IProgressSink
    {
        public void Update(double done, string status)
        {
            task.Value = done;
            task.Description = Markup.Escape($"{title} {status}");
        }

        public void Log(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
    }

    private sealed class PlainSink(string title, double total) : IProgressSink
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
            var fraction = total > 0 ? done / total : 1;
            var progressed = done - (double.IsNaN(startDone) ? 0 : startDone);
            var rate = clock.Elapsed.TotalSeconds > 0 ? progressed / clock.Elapsed.TotalSeconds : 0;
            var eta = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : (TimeSpan?)null;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{title} {fraction * 100,5:F1}% {status} elapsed {clock.Elapsed:hh\\:mm\\:ss} eta {(eta is { } e ? e.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "--:--:--")}"));
        }
    }
}
