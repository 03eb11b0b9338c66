using System.Text.RegularExpressions;
using Ddpm.Tests.Data;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;

namespace Ddpm.Tests.Cli;

/// <summary><c>ddpm nll</c> end to end on a tiny checkpoint: the summary, the files, byte-identical reruns and resumption.</summary>
public sealed partial class NllCommandTests : IDisposable
{
    private static readonly string[] Outputs = ["nll-terms.csv", "nll-terms.png", "nll-images.csv", "nll.txt"];

    private readonly TempFolder temp = new();
    private readonly string run;
    private readonly string data;

    public NllCommandTests()
    {
        run = Path.Combine(root, "run");
        using (var training = TrainingRun.Start(run, TinyRuns.Config(steps: 2), TinyRuns.Data())) training.Train();
        // An MNIST-format test split of 8×8 images, the tiny model's size.
        data = Path.Combine(root, "mnist");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), TestData.IdxImages(6, 8, 8));
        File.WriteAllBytes(Path.Combine(data, "t10k-labels-idx1-ubyte"), TestData.IdxLabels([.. Enumerable.Range(0, 6)]));
    }

    private CliRunner.Result Nll(string? output, long seed = 3, params string[] extra)
    {
        string[] args = ["nll", "--checkpoint", run, "--dataset", "mnist", "--data", data, "--split", "test", "--count", "5", "--batch-size", "2",
            "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (output is not null) args = [.. args, "--out", output];
        return CliRunner.Run([.. args, .. extra]);
    }

    [GeneratedRegex(@"NLL ≤ (\d+\.\d\d) bits/dim ± \d+\.\d\d")]
    private static partial Regex Headline();

    [Fact]
    public void Prints_the_bound_writes_its_terms_and_reruns_byte_for_byte()
    {
        var first = Path.Combine(root, "a");
        var r = Nll(first);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(Headline(), r.Stdout);
        Assert.Contains("prior", r.Stdout);
        Assert.Contains("decoder", r.Stdout);
        foreach (var f in Outputs) Assert.True(new FileInfo(Path.Combine(first, f)).Length > 0, f);
        var terms = File.ReadAllLines(Path.Combine(first, "nll-terms.csv"));
        Assert.Equal("t,term_bits_per_dim,eps_mse,x0_mse", terms[0]);
        Assert.Equal(101, terms.Length); // T = 100
        Assert.Equal(6, File.ReadAllLines(Path.Combine(first, "nll-images.csv")).Length);

        // The same seed: the same bytes; printing only gives the same summary.
        var second = Path.Combine(root, "b");
        Assert.Equal(0, Nll(second).ExitCode);
        foreach (var f in Outputs) Assert.Equal(File.ReadAllBytes(Path.Combine(first, f)), File.ReadAllBytes(Path.Combine(second, f)));
        var printed = Nll(null);
        Assert.Equal(0, printed.ExitCode);
        Assert.Equal(Headline().Match(r.Stdout).Value, Headline().Match(printed.Stdout).Value);

    }

    [Fact]
    public void A_rerun_continues_from_the_finished_batches_and_ends_with_the_same_files()
    {
        var whole = Path.Combine(root, "whole");
        Assert.Equal(0, Nll(whole).ExitCode);

        // An interrupted run: two of its three batches finished, no outputs yet.
        var resumed = Path.Combine(root, "resumed");
        Directory.CreateDirectory(Path.Combine(resumed, "partial"));
        foreach (var f in new[] { "settings.json", "batch-000000.json", "batch-000002.json" })
            File.Copy(Path.Combine(whole, "partial", f), Path.Combine(resumed, "partial", f));
        var r = Nll(resumed);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Continuing: 2 finished batch(es)", r.Stdout);
        Assert.True(File.Exists(Path.Combine(resumed, "partial", "batch-000001.json")));
        foreach (var f in Outputs) Assert.Equal(File.ReadAllBytes(Path.Combine(whole, f)), File.ReadAllBytes(Path.Combine(resumed, f)));

        // Other settings in the same folder are refused in one line.
        var refused = Nll(whole, seed: 9);
        Assert.NotEqual(0, refused.ExitCode);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ddpm: error: ", line);
        Assert.Contains("seed: 3 there, 9 now", line);
    }

    [Fact]
    public void More_images_than_the_split_holds_is_a_one_line_error()
    {
        var r = CliRunner.Run("nll", "--checkpoint", run, "--dataset", "mnist", "--data", data, "--count", "7");
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("ddpm: error: ", r.Stderr);
        Assert.Contains("6 images", r.Stderr);
    }

    private string root => temp.Path;

    public void Dispose() => temp.Dispose();
}
