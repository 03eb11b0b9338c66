using Ddpm.Tests.TestSupport;
using Ddpm.Training;

namespace Ddpm.Tests.Cli;

/// <summary><c>ddpm sample</c> with the multistep solvers: --sampler dpm-solver++|unipc, --order, --solver-type, --variant.</summary>
public sealed class SampleSolverCliTests : IDisposable
{
    private readonly TempFolder temp = new();

    [Fact]
    public void Solvers_sample_a_trained_run_and_a_bad_order_is_a_one_line_error()
    {
        var run = Path.Combine(root, "run");
        using (var training = TrainingRun.Start(run, TinyRuns.Config(steps: 1), TinyRuns.Data())) training.Train();

        var dpm = CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--sampler", "dpm-solver++", "--steps", "4", "--order", "3",
            "--solver-type", "heun", "--out", Path.Combine(root, "dpm.png"));
        Assert.True(dpm.ExitCode == 0, dpm.Stderr);
        Assert.Contains("DPM-Solver++(3M, Heun) (4 steps)", dpm.Stdout);
        Assert.True(File.Exists(Path.Combine(root, "dpm.png")));

        var unipc = CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--sampler", "unipc", "--steps", "3", "--variant", "bh1",
            "--out", Path.Combine(root, "unipc.png"));
        Assert.True(unipc.ExitCode == 0, unipc.Stderr);
        Assert.Contains("UniPC-bh1(2) (3 steps)", unipc.Stdout);

        var bad = CliRunner.Run("sample", "--checkpoint", run, "--count", "1", "--sampler", "unipc", "--order", "4", "--out", Path.Combine(root, "x.png"));
        Assert.NotEqual(0, bad.ExitCode);
        var lines = bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("order", lines[0]);
    }

    private string root => temp.Path;

    public void Dispose() => temp.Dispose();
}
