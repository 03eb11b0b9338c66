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

    [Fact]
    public void Without_sampler_options_sample_uses_the_recommended_settings_and_draws_the_same_images()
    {
        var run = Path.Combine(root, "run");
        using (var training = TrainingRun.Start(run, TinyRuns.Config(steps: 1), TinyRuns.Data())) training.Train();
        var recommended = Ddpm.Sampling.SamplerSettings.Recommended;
        var byDefault = CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--out-dir", Path.Combine(root, "default"));
        Assert.True(byDefault.ExitCode == 0, byDefault.Stderr);
        Assert.Contains($"{recommended.DisplayName} ({recommended.Steps} steps)", byDefault.Stdout);
        var kind = recommended.Kind switch
        {
            Ddpm.Sampling.SamplerKind.DpmSolverPlusPlus => "dpm-solver++",
            Ddpm.Sampling.SamplerKind.SdeDpmSolverPlusPlus => "sde-dpm-solver++",
            Ddpm.Sampling.SamplerKind.UniPc => "unipc",
            Ddpm.Sampling.SamplerKind.Ddim => "ddim",
            _ => "ddpm",
        };
        string[] spelled = ["sample", "--checkpoint", run, "--count", "2", "--sampler", kind, "--steps", $"{recommended.Steps}", "--out-dir", Path.Combine(root, "spelled")];
        if (recommended.Order is { } order) spelled = [.. spelled, "--order", $"{order}"];
        var explicitRun = CliRunner.Run(spelled);
        Assert.True(explicitRun.ExitCode == 0, explicitRun.Stderr);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "default")))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(root, "spelled", Path.GetFileName(file))));
    }

    private string root => temp.Path;

    public void Dispose() => temp.Dispose();
}
