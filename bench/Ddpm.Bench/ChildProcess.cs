using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Ddpm.Bench;

/// <summary>The outcome of a row's child process: its result, or why there is none.</summary>
internal sealed record RowOutcome(RowSpec Spec, RowResult? Result, string? Error, double WallSeconds);

/// <summary>
/// Starts the harness again with <c>--row NAME</c>, so every row has a fresh process and its own peak RSS. The child's
/// stderr (progress) is passed through live; its stdout carries the result as its last JSON line.
/// </summary>
internal static class ChildProcess
{
    private const int KeptErrorChars = 2000;

    /// <summary>Starts the last stderr line of a row process that failed with an exception: its one-line reason.</summary>
    public const string FailurePrefix = "row failed: ";

    public static RowOutcome Run(RowSpec spec, BenchOptions options)
    {
        var start = SelfStartInfo();
        foreach (var a in options.ChildArguments(spec.Name)) start.ArgumentList.Add(a);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;

        var stdout = new StringBuilder();
        var stderrTail = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            Console.Error.WriteLine(e.Data);
            lock (stderrTail)
            {
                stderrTail.AppendLine(e.Data);
                if (stderrTail.Length > 4 * KeptErrorChars) stderrTail.Remove(0, stderrTail.Length - KeptErrorChars);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        var wall = clock.Elapsed.TotalSeconds;

        string Tail()
        {
            lock (stderrTail)
            {
                var s = stderrTail.ToString().Trim();
                return s.Length > KeptErrorChars ? s[^KeptErrorChars..] : s;
            }
        }
        if (process.ExitCode != 0) return new RowOutcome(spec, null, FailureReason(process.ExitCode, Tail()), wall);
        var json = stdout.ToString().Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
        if (json is null) return new RowOutcome(spec, null, $"no JSON result on stdout. {Tail()}", wall);
        try
        {
            return new RowOutcome(spec, JsonSerializer.Deserialize<RowResult>(json, Json.Options), null, wall);
        }
        catch (JsonException e)
        {
            return new RowOutcome(spec, null, $"unreadable result ({e.Message}): {json}", wall);
        }
    }

    private static string FailureReason(int exitCode, string stderrTail)
    {
        var reason = stderrTail.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith(FailurePrefix, StringComparison.Ordinal));
        if (reason is not null) return reason[FailurePrefix.Length..];
        var hint = exitCode switch
        {
            137 => " (killed, e.g. by the out-of-memory killer)",
            134 => " (aborted)",
            139 => " (segmentation fault)",
            _ => "",
        };
        var last = stderrTail.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "";
        return $"exit code {exitCode}{hint}" + (last.Length == 0 ? "" : $"; last output: {(last.Length > 300 ? last[..300] + "…" : last)}");
    }

    /// <summary>How to start this program again: the app host directly, or <c>dotnet Ddpm.Bench.dll</c>.</summary>
    private static ProcessStartInfo SelfStartInfo()
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell this program's path.");
        if (!string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.OrdinalIgnoreCase))
            return new ProcessStartInfo(host);
        var start = new ProcessStartInfo(host);
        start.ArgumentList.Add(Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("Cannot tell this program's assembly."));
        return start;
    }
}
