using System.Diagnostics;
using System.Text.Json;
using Ddpm.Tests.TestSupport;

namespace Ddpm.Tests;

/// <summary>
/// Building a model, training and sampling change nothing process-wide unless the host calls
/// <c>CpuTuning.Apply</c>, and Apply changes each thing it promises. Both are observed in a fresh process
/// (tests/Ddpm.RuntimeProbe): the tuning is process-wide, so this test process, whose other tests must run untuned
/// whatever their order, never applies it.
/// </summary>
public sealed class ProcessSideEffectsTests
{
    private const string KeeperThread = "ddpm constant"; // Linux keeps the first 15 bytes of a thread's name

    private static JsonElement Probe(params string[] args)
    {
        var root = CliRunner.RepositoryRoot();
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // bin/<configuration>/<tfm>
        var dll = Path.Combine(root, "tests", "Ddpm.RuntimeProbe", "bin", configuration, "net10.0", "Ddpm.RuntimeProbe.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the runtime probe did not finish");
        }
        Assert.True(process.ExitCode == 0, $"the probe failed: {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }

    private static bool HasKeeperThread(JsonElement report) =>
        report.GetProperty("Threads").EnumerateArray().Any(t => t.GetString()!.StartsWith(KeeperThread, StringComparison.Ordinal));

    [Fact]
    public void Building_training_and_sampling_leave_the_process_untouched()
    {
        var report = Probe();
        Assert.False(report.GetProperty("Applied").GetBoolean());
        Assert.False(HasKeeperThread(report), "a constant-page keeper thread runs");
        Assert.NotEqual(0f, report.GetProperty("DenormalProduct").GetSingle()); // denormals are not flushed
        Assert.True(report.GetProperty("MklSlotsInLibraries").GetBoolean(), "MKL's vendor check was redirected");
        Assert.True(report.GetProperty("LargeBlockMapped").GetBoolean(), "glibc no longer maps large blocks");
        Assert.True(report.GetProperty("NnpackEnabled").GetBoolean(), "NNPACK was turned off");
        // A step forces no collection: fewer gen-2 collections than steps (normally none at all).
        Assert.True(report.GetProperty("Gen2Collections").GetInt32() < report.GetProperty("EndSteps").GetInt32());
    }

    [Fact]
    public void Apply_changes_each_thing_it_promises()
    {
        var report = Probe("--apply");
        Assert.True(report.GetProperty("Applied").GetBoolean());
        Assert.True(HasKeeperThread(report), "no constant-page keeper thread");
        Assert.Equal(0f, report.GetProperty("DenormalProduct").GetSingle());
        Assert.False(report.GetProperty("LargeBlockMapped").GetBoolean(), "glibc still maps a 64 MiB block");
        Assert.False(report.GetProperty("NnpackEnabled").GetBoolean());
        Assert.True(report.GetProperty("Gen2Collections").GetInt32() >= report.GetProperty("EndSteps").GetInt32());

        var checks = report.GetProperty("Checks");
        // MKL's vendor check is redirected exactly on non-Intel CPUs with AVX-512, to one function returning 1.
        var expected = checks.GetProperty("MklRedirectExpected").GetBoolean();
        Assert.Equal(expected, checks.GetProperty("MklRedirected").GetBoolean());
        Assert.Equal(!expected, report.GetProperty("MklSlotsInLibraries").GetBoolean());
        if (expected)
        {
            Assert.Equal(1, checks.GetProperty("MklSlotTargets").GetInt32());
            Assert.Equal(1, checks.GetProperty("MklSlotReturns").GetInt32());
        }
        else Assert.False(string.IsNullOrEmpty(checks.GetProperty("MklReason").GetString()));
        Assert.True(checks.GetProperty("BmmError").GetDouble() < 1e-4, "bmm differs from float64");

        // libtorch's constant tables are located (page-aligned, megabytes) and a sweep reads some of their pages.
        Assert.True(checks.GetProperty("ConstantsKeptAccessed").GetBoolean(), checks.GetProperty("ConstantsReason").GetString());
        Assert.True(checks.GetProperty("ConstantRanges").GetInt32() > 0);
        Assert.True(checks.GetProperty("ConstantRangesPageAligned").GetBoolean());
        Assert.True(checks.GetProperty("ConstantBytes").GetInt64() > 1 << 20, "libtorch's .rodata is megabytes");
        Assert.True(checks.GetProperty("SweepCounted").GetBoolean());
        Assert.InRange(checks.GetProperty("PagesTouched").GetInt32(), 1, checks.GetProperty("PagesInRanges").GetInt64());

        // Flushing reaches every thread of a fresh thread's OpenMP team, and turns off again.
        Assert.Equal(checks.GetProperty("DenormalElements").GetInt64(), checks.GetProperty("DenormalsKept").GetInt64());
        Assert.Equal(0, checks.GetProperty("DenormalsLeftWhenFlushed").GetInt64());

        Assert.True(checks.GetProperty("EndStepRanFinalizers").GetBoolean());
    }
}
