using Ddpm.Checkpoints;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;

namespace Ddpm.Tests.Cli;

/// <summary>The ddpm tool end to end: output, and one clear line plus a non-zero exit for every bad input.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFolder temp = new();

    [Fact]
    public void Schedule_prints_the_columns_and_writes_a_plot()
    {
        var plot = Path.Combine(temp.Path, "schedule.png");
        var r = CliRunner.Run("schedule", "--format", "csv", "--timesteps", "10", "--plot", plot);
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal("t,beta,alpha_bar,sqrt_alpha_bar,sqrt_one_minus_alpha_bar,posterior_variance,posterior_log_variance_clipped", lines[0]);
        Assert.Equal(11, lines.Length);
        Assert.StartsWith("0,0.0001,0.9999,", lines[1]);
        Assert.StartsWith("9,0.02,", lines[10]);
        Assert.True(new FileInfo(plot).Length > 1000);
        var table = CliRunner.Run("schedule", "--schedule", "cosine", "--every", "500");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("sqrt_one_minus_alpha_bar", table.Stdout);
    }

    [Fact]
    public void Help_states_the_timestep_convention()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("0-based", r.Stdout);
    }

    [Fact]
    public void Help_and_errors_name_the_tool_ddpm_when_run_from_the_dll()
    {
        // CliRunner starts `dotnet Ddpm.Cli.dll`, as the main job does.
        var help = CliRunner.Run("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage:\n  ddpm [command] [options]", help.Stdout.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("Ddpm.Cli", help.Stdout);
        var sub = CliRunner.Run("sample", "--help");
        Assert.Contains("ddpm sample [options]", sub.Stdout);
        var error = CliRunner.Run("frobnicate");
        Assert.StartsWith("ddpm: error: ", error.Stderr);
        Assert.DoesNotContain("Ddpm.Cli", error.Stderr);
    }

    [Fact]
    public void Bad_options_are_one_line_errors()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--steps", "-5"), "--steps");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--dataset", "imagenet"), "imagenet");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", temp.Path, "--sampler", "euler"), "euler");
        CliRunner.AssertOneLineError(CliRunner.Run("frobnicate"), "frobnicate");
        CliRunner.AssertOneLineError(CliRunner.Run("schedule", "--beta-start", "0.5", "--beta-end", "0.1"), "beta-end");
    }

    [Fact]
    public void Missing_data_is_a_one_line_error_naming_the_file()
    {
        var missing = Path.Combine(temp.Path, "no-such-folder");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--dataset", "mnist", "--data", missing, "--out", Path.Combine(temp.Path, "run")), "no-such-folder");
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "run")));
    }

    [Fact]
    public void Missing_checkpoint_is_a_one_line_error()
    {
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", Path.Combine(temp.Path, "nothing")), "nothing");
        CliRunner.AssertOneLineError(CliRunner.Run("info", Path.Combine(temp.Path, "nothing")), "nothing");
    }

    [Fact]
    public void Sample_and_info_work_on_a_trained_run_and_unwritable_output_is_an_error()
    {
        var run = Path.Combine(temp.Path, "run");
        using (var training = TrainingRun.Start(run, TinyRuns.Config(steps: 2), TinyRuns.Data())) training.Train();

        var grid = Path.Combine(temp.Path, "grid.png");
        var dir = Path.Combine(temp.Path, "singles");
        var gif = Path.Combine(temp.Path, "x0.gif");
        var r = CliRunner.Run("sample", "--checkpoint", run, "--count", "5", "--batch-size", "2", "--sampler", "ddim", "--steps", "4",
            "--out", grid, "--out-dir", dir, "--progressive", gif);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(grid));
        Assert.Equal(5, Directory.GetFiles(dir, "*.png").Length);
        Assert.True(File.Exists(gif));
        Assert.Contains(grid, r.Stdout);

        var info = CliRunner.Run("info", run);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("step", info.Stdout);
        Assert.Contains("tiny", info.Stdout);

        var published = Path.Combine(temp.Path, "published");
        var export = CliRunner.Run("export", run, "--out", published);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal(["config.json", "ema.safetensors", "state.json"], Directory.GetFiles(published).Select(Path.GetFileName).Order());
        var fromExport = CliRunner.Run("sample", "--checkpoint", published, "--count", "2", "--sampler", "ddim", "--steps", "3", "--out", Path.Combine(temp.Path, "p.png"));
        Assert.True(fromExport.ExitCode == 0, fromExport.Stderr);

        var blocker = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(blocker, "x");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--count", "1", "--sampler", "ddim", "--steps", "2",
            "--out", Path.Combine(blocker, "grid.png")), "a-file");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--out", Path.Combine(temp.Path, "grid.jpg")), ".png");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--out", Path.Combine(blocker, "run"), "--steps", "1"), "a-file");
    }

    [Fact]
    public void Interrupting_training_writes_a_checkpoint_and_resume_continues_from_it()
    {
        // A small MNIST-format data set of the tests' own.
        var data = Path.Combine(temp.Path, "mnist");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), Ddpm.Tests.Data.TestData.IdxImages(32, 28, 28));
        File.WriteAllBytes(Path.Combine(data, "train-labels-idx1-ubyte"), Ddpm.Tests.Data.TestData.IdxLabels(Enumerable.Range(0, 32).Select(i => i % 10).ToList()));
        var run = Path.Combine(temp.Path, "interrupted");
        var metrics = Path.Combine(run, "metrics.csv");
        var r = CliRunner.Run(["train", "--dataset", "mnist", "--data", data, "--out", run, "--steps", "100000", "--batch-size", "4", "--sample-every", "0", "--sample-count", "2"],
            whileRunning: pid =>
            {
                // Interrupt once a few steps are on record, as Ctrl+C would.
                var deadline = DateTime.UtcNow.AddMinutes(2);
                while (DateTime.UtcNow < deadline && (!File.Exists(metrics) || File.ReadAllLines(metrics).Length < 4)) Thread.Sleep(200);
                CliRunner.Signal(pid, "INT");
            });
        Assert.Equal(130, r.ExitCode);
        Assert.Contains("Cancelled", r.Stdout);
        var state = ConfigJson.Load<TrainingState>(Path.Combine(CheckpointStore.Resolve(run), CheckpointFiles.State));
        Assert.True(state.Step >= 3);
        var resumed = CliRunner.Run("train", "--out", run, "--resume", "--steps", (state.Step + 2).ToString(System.Globalization.CultureInfo.InvariantCulture), "--sample-every", "0");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains($"from step {state.Step} to {state.Step + 2}", resumed.Stdout);
    }

    [Fact]
    public void A_folder_run_resumes_without_its_shape_refuses_contradictions_and_records_safe_changes()
    {
        var pictures = Path.Combine(temp.Path, "pictures");
        for (var i = 0; i < 6; i++)
            Ddpm.Tests.Data.TestData.WriteImage(temp.WritableFile(Path.Combine("pictures", $"{i}.png")), 12, 10, (x, y) => new SkiaSharp.SKColor((byte)(x * 20 + i), (byte)(y * 20), 90));
        var run = Path.Combine(temp.Path, "folder-run");
        var started = CliRunner.Run("train", "--dataset", "folder", "--data", pictures, "--image-size", "8", "--channels", "1", "--out", run,
            "--steps", "2", "--batch-size", "4", "--sample-every", "0", "--sample-count", "1");
        Assert.True(started.ExitCode == 0, started.Stderr);

        var contradiction = CliRunner.Run("train", "--resume", "--out", run, "--image-size", "16");
        Assert.Equal(2, contradiction.ExitCode);
        CliRunner.AssertOneLineError(contradiction, "--image-size 16 contradicts the run in");
        Assert.Contains("started with 8;", contradiction.Stderr);
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--resume", "--out", run, "--batch-size", "8"), "--batch-size 8 contradicts");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--resume", "--out", run, "--dataset", "mnist"), "--dataset mnist contradicts");

        // Neither --image-size nor --channels is repeated; an option given as saved is no contradiction.
        var resumed = CliRunner.Run("train", "--resume", "--out", run, "--steps", "3", "--precision", "bf16", "--batch-size", "4");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("from step 2 to 3", resumed.Stdout);
        Assert.Contains("Changed training.precision: fp32 → bf16", resumed.Stdout);
        var config = RunConfig.Load(Path.Combine(run, CheckpointFiles.Config));
        Assert.Equal((3L, Precision.Bf16), (config.Training.Steps, config.Training.Precision));
        Assert.Equal(["training.steps", "training.precision"], config.History.Select(c => c.Setting));
        Assert.Equal(Path.GetFullPath(pictures), config.Data.Path);
        Assert.Equal(3, ConfigJson.Load<TrainingState>(Path.Combine(CheckpointStore.Resolve(run), CheckpointFiles.State)).Step);
        var info = CliRunner.Run("info", run, "--json");
        Assert.Contains("\"setting\": \"training.precision\"", info.Stdout);
    }

    public void Dispose() => temp.Dispose();
}
