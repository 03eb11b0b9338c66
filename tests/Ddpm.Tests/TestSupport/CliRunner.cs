using System.Diagnostics;

namespace Ddpm.Tests.TestSupport;

/// <summary>Runs the built <c>ddpm</c> tool in its own process, as a user would.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => Run(args, null);

    /// <summary>Runs the tool; <paramref name="whileRunning"/> gets the process id while it runs (to send it a signal).</summary>
    public static Result Run(string[] args, Action<int>? whileRunning)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Ddpm.Cli.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        whileRunning?.Invoke(process.Id);
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"ddpm {string.Join(' ', args)} did not finish");
        }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The tool failed with one line on stderr, <c>ddpm: error: …</c>, containing <paramref name="expected"/>.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("ddpm: error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    /// <summary>Sends a POSIX signal (e.g. INT, TERM) to a process.</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>The repository root (the folder holding Ddpm.slnx).</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ddpm.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Ddpm.slnx not found above the test folder.");
    }
}
