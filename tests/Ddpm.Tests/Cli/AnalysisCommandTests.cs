using Ddpm.Diffusion;
using Ddpm.Imaging;
using Ddpm.Schedules;
using Ddpm.Tests.Data;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using SkiaSharp;

namespace Ddpm.Tests.Cli;

/// <summary>The paper's analyses end to end on a tiny checkpoint: sample --progressive DIR and --share-from, interpolate, rate-distortion.</summary>
public sealed class AnalysisCommandTests : IDisposable
{
    /// <summary>The tiny model's image side, its grid scale and the grid padding (GridOptions' default).</summary>
    private const int Side = 8, Scale = 2, Padding = 2;

    private const int Timesteps = 20;

    private readonly TempFolder temp = new();
    private readonly string run;
    private readonly string data;

    public AnalysisCommandTests()
    {
        run = temp.File("run");
        // A chain of 20 steps keeps every command to a few dozen calls of the tiny U-Net.
        var config = TinyRuns.Config(steps: 2) with { Diffusion = new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = Timesteps } } };
        using (var training = TrainingRun.Start(run, config, TinyRuns.Data())) training.Train();
        // An MNIST-format test split of 8×8 images, the tiny model's size.
        data = temp.File("mnist");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), TestData.IdxImages(6, Side, Side));
        File.WriteAllBytes(Path.Combine(data, "t10k-labels-idx1-ubyte"), TestData.IdxLabels([.. Enumerable.Range(0, 6)]));
    }

    /// <summary>The pixel size of a grid of <paramref name="cells"/> images along one side.</summary>
    private static int GridSide(int cells) => cells * Side * Scale + (cells + 1) * Padding;

    private static (int Width, int Height) PngSize(string path)
    {
        using var bitmap = SKBitmap.Decode(path);
        return (bitmap.Width, bitmap.Height);
    }

    private static void AssertOk(CliRunner.Result r) => Assert.True(r.ExitCode == 0, r.Stderr);

    [Fact]
    public void Progressive_into_a_folder_writes_strips_their_grid_and_two_animations()
    {
        var folder = temp.File("chain");
        AssertOk(CliRunner.Run("sample", "--checkpoint", run, "--count", "3", "--batch-size", "2", "--sampler", "ddim", "--steps", "6",
            "--frames", "4", "--progressive", folder, "--out", temp.File("grid.png")));
        Assert.Equal(["strip-00000.png", "strip-00001.png", "strip-00002.png", "strips.png", "x0.gif", "xt.gif"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order());
        Assert.Equal((GridSide(4), GridSide(1)), PngSize(Path.Combine(folder, "strip-00001.png")));
        Assert.Equal((GridSide(4), GridSide(3)), PngSize(Path.Combine(folder, "strips.png")));
        Assert.True(File.Exists(temp.File("grid.png")));
    }

    [Fact]
    public void Share_from_writes_one_row_per_timestep_and_refuses_a_timestep_past_the_chain()
    {
        var grid = temp.File("shared.png");
        var r = CliRunner.Run("sample", "--checkpoint", run, "--count", "3", "--steps", "5", "--share-from", "20,10,0", "--out", grid);
        AssertOk(r);
        Assert.Equal((GridSide(3), GridSide(3)), PngSize(grid));
        // The row shared down to timestep 0 is one image three times.
        using var bitmap = SKBitmap.Decode(grid);
        int Cell(int row, int column, int x, int y) => bitmap.GetPixel(Padding + column * (Side * Scale + Padding) + x, Padding + row * (Side * Scale + Padding) + y).Red;
        var lastRow = Enumerable.Range(0, Side * Scale).SelectMany(y => Enumerable.Range(0, Side * Scale).Select(x => (x, y))).ToArray();
        Assert.All(lastRow, p => Assert.Equal(Cell(2, 0, p.x, p.y), Cell(2, 2, p.x, p.y)));
        Assert.Contains(lastRow, p => Cell(0, 0, p.x, p.y) != Cell(0, 2, p.x, p.y));

        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--share-from", "21", "--out", grid), "0..20");
        // Deterministic samplers cannot part two chains from one x_T.
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--share-from", "5", "--sampler", "dpm-solver++", "--steps", "3", "--out", grid), "--share-from needs");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--count", "2", "--share-from", "5", "--sampler", "ddim", "--steps", "3", "--out", grid), "--eta");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--share-from", "5", "--out-dir", temp.File("d")), "--share-from");
    }

    [Fact]
    public void Interpolate_writes_a_row_per_depth_with_the_sources_at_its_ends_the_same_for_the_same_seed()
    {
        var source = temp.File("a.png");
        TestData.WriteImage(source, Side, Side, (x, y) => (x + y) % 2 == 0 ? SKColors.White : SKColors.Black);
        string[] Args(string output, string seed) =>
            ["interpolate", "--checkpoint", run, "--a", source, "--b", "mnist:test:1", "--data", data, "--t", "3,6", "--count", "3", "--seed", seed, "--out", output];
        var first = temp.File("i1.png");
        AssertOk(CliRunner.Run(Args(first, "7")));
        Assert.Equal((GridSide(5), GridSide(2)), PngSize(first));
        var second = temp.File("i2.png");
        AssertOk(CliRunner.Run(Args(second, "7")));
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
        var other = temp.File("i3.png");
        AssertOk(CliRunner.Run(Args(other, "8")));
        Assert.NotEqual(File.ReadAllBytes(first), File.ReadAllBytes(other));
    }

    [Fact]
    public void Interpolate_refuses_bad_sources_with_one_line()
    {
        var big = temp.File("big.png");
        TestData.WriteImage(big, 12, 12, (_, _) => SKColors.Gray);
        CliRunner.Result Run(string a, string t = "3") => CliRunner.Run("interpolate", "--checkpoint", run, "--a", a, "--b", "mnist:test:0", "--data", data,
            "--t", t, "--out", temp.File("x.png"));
        CliRunner.AssertOneLineError(Run(temp.File("missing.png")), "missing.png");
        CliRunner.AssertOneLineError(Run("mnist:test:6"), "6 images");
        CliRunner.AssertOneLineError(Run(big), "12×12");
        CliRunner.AssertOneLineError(Run("mnist:test:0", t: "20"), "0..19");
    }

    [Fact]
    public void Rate_distortion_writes_the_curve_its_panels_the_reconstructions_and_a_summary()
    {
        var output = temp.File("rd");
        var r = CliRunner.Run("rate-distortion", "--checkpoint", run, "--dataset", "mnist", "--data", data, "--count", "3", "--batch-size", "3",
            "--show", "2", "--columns", "4", "--out", output);
        AssertOk(r);
        Assert.Contains("At the end of the chain (t = 0): rate", r.Stdout);
        var csv = File.ReadAllLines(Path.Combine(output, "rate-distortion.csv"));
        Assert.Equal("step,t,rate_bits_per_dim,distortion_rmse", csv[0]);
        Assert.Equal(Timesteps + 1, csv.Length);
        Assert.StartsWith("1,19,", csv[1]);
        Assert.StartsWith("20,0,", csv[^1]);
        Assert.Equal((3 * Plots.PanelWidth, Plots.Height + 40), PngSize(Path.Combine(output, "rate-distortion.png")));
        Assert.Equal((GridSide(5), GridSide(2)), PngSize(Path.Combine(output, "reconstructions.png")));
        Assert.Contains("column  4: t =     0", File.ReadAllText(Path.Combine(output, "rate-distortion.txt")));
    }

    public void Dispose() => temp.Dispose();
}
