using System.Globalization;
using System.Text.Json;
using Ddpm.Runtime;

namespace Ddpm.Bench;

/// <summary>
/// The benchmark harness. Without <c>--row</c> it is the orchestrator: it starts itself once per row, collects each
/// row's JSON and writes the Markdown and JSON report. With <c>--row NAME</c> it measures that one row and prints its JSON.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        if (options.Help)
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }
        try
        {
            if (options.Row is not null) return RunRow(options);
            if (options.List) return List();
            return Orchestrate(options, args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    /// <summary>Child mode: one row in this fresh process, its JSON on stdout.</summary>
    private static int RunRow(BenchOptions options)
    {
        var spec = RowCatalog.Find(options.Row!).WithOptions(options);
        try
        {
            CpuTuning.Apply(options.CpuSettings);
            var result = RowRunner.Run(spec, options.Quick);
            Console.Out.WriteLine(JsonSerializer.Serialize(result, Json.Options));
            return 0;
        }
        catch (Exception e)
        {
            // The full trace for whoever reads the log; the last line is the one-line reason the report shows.
            Console.Error.WriteLine(e);
            var inner = e.InnerException is { } i ? $" ({i.GetType().Name}: {FirstLine(i.Message)})" : "";
            Console.Error.WriteLine($"{ChildProcess.FailurePrefix}{e.GetType().Name}: {FirstLine(e.Message)}{inner}");
            return 1;
        }
    }

    private static int List()
    {
        foreach (var r in RowCatalog.All)
        {
            var what = r.Kind == RowKind.Run ? $"{r.Images} images" : $"batch {r.Batch}";
            Console.WriteLine($"{r.Name,-28} {r.Kind,-8} {r.Preset,-9} {what,-11} {r.PrecisionName}  warm-up {r.Warmup}, iterations {r.Iterations}  [{string.Join(' ', r.Tags)}]");
        }
        Console.WriteLine($"groups: {string.Join(", ", RowCatalog.Groups)}");
        return 0;
    }

    private static int Orchestrate(BenchOptions options, string[] args)
    {
        var root = RepositoryRoot();
        var rows = options.EffectiveRows.Length == 0 ? [] : RowCatalog.Select(options.EffectiveRows).ToList();
        if (options.Growth) rows.AddRange(RowCatalog.Growth.Where(g => !rows.Contains(g)));
        if (rows.Count == 0) throw new ArgumentException("No rows selected.");

        var referencePath = options.Reference ?? Path.Combine(root, "bench", "reference", "pytorch-2.6-cpu.json");
        ReferenceFigures? reference = null;
        if (File.Exists(referencePath)) reference = ReferenceFigures.Load(referencePath);
        else Console.Error.WriteLine($"warning: no reference figures at {referencePath}; ratios are left out.");

        var onlyGrowth = rows.All(r => r.Tags.Contains("growth"));
        var output = options.Out is { } o
            ? StripExtension(o)
            : Path.Combine(root, "bench", "results", onlyGrowth ? "growth" : "latest");

        var threads = options.Threads ?? Environment.ProcessorCount;
        var live = options.PyTorchRoot is { } pyRoot
            ? new LivePyTorch(pyRoot, root, options.PyTorchEnvironment, threads)
            : null;
        var tuned = options.PyTorchRoot is { } tunedRoot && options.PyTorchTuned
            ? new LivePyTorch(tunedRoot, root, [.. options.PyTorchEnvironment, .. LivePyTorch.TunedAllocatorEnvironment], threads, "PyTorch tuned")
            : null;

        var machine = MachineInfo.Read();
        var load = MachineInfo.LoadAverage();
        var report = new Report
        {
            GeneratedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            Command = "dotnet run -c Release --project bench/Ddpm.Bench --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)),
            Quick = options.Quick,
            Machine = machine,
            LoadAverageStart = load,
            ReferenceName = reference?.Name,
            ReferenceSource = reference?.Source,
            ReferenceSoftware = reference?.Software,
            ReferenceMachine = reference?.Machine,
            LiveReference = live?.Describe(),
            TunedReference = tuned?.Describe(),
        };
        Console.WriteLine($"{rows.Count} row(s), each in its own process; report: {output}.md / .json");
        if (load.Length > 0 && load[0] > 0.25 * machine.LogicalCores)
            Console.WriteLine($"warning: the 1-minute load average is {load[0].ToString("F2", CultureInfo.InvariantCulture)} on {machine.LogicalCores} cores; figures will be low. Benchmark an idle machine.");

        var failures = 0;
        var liveFirst = false;
        foreach (var spec in rows)
        {
            Console.Error.WriteLine($"[{spec.Name}]");
            var row = spec.WithOptions(options);
            var repeats = new List<ComparedRow>();
            for (var repeat = 0; repeat < options.Repeat; repeat++)
            {
                if (options.Repeat > 1) Console.Error.WriteLine($"  repeat {repeat + 1}/{options.Repeat}");
                repeats.Add(MeasureRow(row, options, live, tuned, reference, ref liveFirst));
            }
            var compared = ComparedRow.MedianOf(repeats);
            if (compared.Result is null) failures++;
            (spec.Tags.Contains("growth") ? report.Growth : report.Rows).Add(compared);
            Console.WriteLine(Report.ConsoleLine(compared));
            report.LoadAverageEnd = MachineInfo.LoadAverage();
            report.Write(output); // after every row, so an interrupted run keeps what it measured
        }
        Console.WriteLine($"wrote {output}.md and {output}.json" + (failures > 0 ? $"; {failures} row(s) failed" : ""));
        return failures > 0 ? 1 : 0;
    }

    /// <summary>One measurement of a row, with PyTorch (and tuned PyTorch) beside it when asked for.</summary>
    private static ComparedRow MeasureRow(RowSpec row, BenchOptions options, LivePyTorch? live, LivePyTorch? tuned,
        ReferenceFigures? reference, ref bool liveFirst)
    {
        LiveFigure? figure = null, tunedFigure = null;
        string? liveError = null, tunedError = null;
        var measureLive = live is not null && !options.Quick && LivePyTorch.Covers(row);
        // PyTorch goes first on every other row, so that neither side always gets the machine as the other left it;
        // the tuned variant runs on the other side of the Ddpm row.
        if (measureLive) liveFirst = !liveFirst;
        if (measureLive && liveFirst) (figure, liveError) = MeasureLive(live!, row, ranFirst: true);
        if (measureLive && !liveFirst && tuned is not null) (tunedFigure, tunedError) = MeasureLive(tuned, row, ranFirst: true);
        var outcome = ChildProcess.Run(row, options);
        if (measureLive && !liveFirst) (figure, liveError) = MeasureLive(live!, row, ranFirst: false);
        if (measureLive && liveFirst && tuned is not null) (tunedFigure, tunedError) = MeasureLive(tuned, row, ranFirst: false);
        var compared = ComparedRow.From(outcome, reference, figure, liveError) with
        {
            Tuned = tunedFigure,
            TunedError = tunedError,
        };
        return compared.WithTunedRatios();
    }

    private static (LiveFigure? Figure, string? Error) MeasureLive(LivePyTorch live, RowSpec row, bool ranFirst)
    {
        try
        {
            return (live.Measure(row, ranFirst), null);
        }
        catch (InvalidOperationException e)
        {
            return (null, FirstLine(e.Message));
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static string StripExtension(string path) =>
        Path.GetExtension(path) is ".md" or ".json" ? Path.ChangeExtension(path, null) : path;

    /// <summary>The folder holding Ddpm.slnx above the program (so defaults work from any directory), else the current one.</summary>
    private static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ddpm.slnx"))) return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
