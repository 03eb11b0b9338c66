using System.Text.Json;
using Ddpm.Checkpoints;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

/// <summary><c>ddpm eval</c> and <c>ddpm sample --shard</c> end to end on a tiny model, tiny feature networks and a folder of reference images.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private readonly TempFolder temp = new();

    private string root => temp.Path;

    public void Dispose() => temp.Dispose();

    /// <summary>A tiny classifier feature network: JSON description and safetensors weights, as any user's extractor.</summary>
    private string TinyExtractor(string name, int[] widths, int features, long seed)
    {
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        var config = new ClassifierConfig { Id = name, ImageSize = 8, Widths = widths, FeatureDimension = features, Classes = 3 };
        using var g = new Generator((ulong)seed);
        using var network = new ClassifierNetwork(config, g);
        network.save_safetensors(Path.Combine(dir, config.Weights));
        var path = Path.Combine(dir, "config.json");
        ConfigJson.Save(config, path);
        return path;
    }

    private string TinyRun()
    {
        var run = Path.Combine(root, "run");
        using var training = TrainingRun.Start(run, TinyRuns.Config(steps: 2), TinyRuns.Data());
        training.Train();
        return run;
    }

    private string ReferenceFolder()
    {
        var dir = Path.Combine(root, "reference");
        var data = TinyRuns.Data();
        using var scope = NewDisposeScope();
        var images = EvaluationRun.Batches(data, data.Count, data.Count).Select(b => b.clone()).First();
        ImageFiles.SaveEach(images, dir, "ref");
        return dir;
    }

    private static void AssertOk(CliRunner.Result r) => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}\n{r.Stdout}");

    private static QualityReport Metrics(string outDir) =>
        ConfigJson.Load<EvaluationRecord>(Path.Combine(outDir, EvaluationRun.JsonFile)).Metrics;

    [Fact]
    public void Eval_of_a_class_conditional_model_measures_the_share_classified_as_asked()
    {
        var run = Path.Combine(root, "classes");
        var config = TinyRuns.Config(steps: 2) with
        {
            Model = TinyRuns.Model with { NumClasses = 10 },
            Conditioning = new Ddpm.Conditioning.ConditioningConfig { ClassNames = [.. Enumerable.Range(0, 10).Select(i => $"c{i}")] },
        };
        using (var training = TrainingRun.Start(run, config, TinyRuns.Data())) training.Train();
        var extractor = TinyExtractor("tiny-features", [4, 8], 16, 1);
        var outDir = Path.Combine(root, "eval-classes");
        string[] args = ["eval", "--checkpoint", run, "--count", "6", "--sampler", "ddim", "--steps", "3", "--out", outDir, "--extractor", extractor,
            "--reference-dataset", "folder", "--reference-data", ReferenceFolder()];
        var r = CliRunner.Run([.. args, "--class", "c2", "--guidance", "2"]);
        AssertOk(r);
        Assert.Contains("Classified as the requested class", r.Stdout);
        var record = ConfigJson.Load<EvaluationRecord>(Path.Combine(outDir, EvaluationRun.JsonFile));
        Assert.Equal(("class c2, guidance 2", 2.0), (record.Classes, record.Guidance));
        Assert.InRange(record.ClassAccuracy!.Value, 0, 1);
        // The images in the folder were drawn for class 2 with guidance 2: other settings need another folder.
        CliRunner.AssertOneLineError(CliRunner.Run([.. args, "--class", "c2", "--guidance", "3"]), "holds images of another");
        CliRunner.AssertOneLineError(CliRunner.Run([.. args, "--class", "all"]), "one class or the classes in turn");
    }

    [Fact]
    public void Class_accuracy_counts_the_most_probable_class()
    {
        var features = new FeatureSet(new float[4], 1, [0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f, 0.3f, 0.6f, 0.1f, 0.2f, 0.3f, 0.5f], classCount: 3);
        Assert.Equal(0.5, EvaluationRun.ClassAccuracy(features, [0, 1, 1, 0]));
        Assert.Equal(1.0, EvaluationRun.ClassAccuracy(features, [0, 2, 1, 2]));
    }

    [Fact]
    public void Eval_samples_scores_and_resumes_with_the_same_images()
    {
        var run = TinyRun();
        var reference = ReferenceFolder();
        var extractor = TinyExtractor("tiny-features", [4, 8], 16, 1);
        var outDir = Path.Combine(root, "eval");
        string[] args = ["eval", "--checkpoint", run, "--count", "7", "--sampler", "ddim", "--steps", "3", "--seed", "5", "--batch-size", "3",
            "--out", outDir, "--extractor", extractor, "--reference-dataset", "folder", "--reference-data", reference];
        AssertOk(CliRunner.Run(args));
        var images = Path.Combine(outDir, EvaluationRun.ImagesFolder);
        var first = Enumerable.Range(0, 7).Select(i => File.ReadAllBytes(EvaluationRun.ImagePath(images, i))).ToArray();
        Assert.Equal(7, Directory.GetFiles(images, "*.png").Length);
        foreach (var file in new[] { EvaluationRun.ReportFile, EvaluationRun.GridFile, EvaluationRun.NeighboursFile })
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        var metrics = Metrics(outDir);
        Assert.Equal(7, metrics.GeneratedCount);
        Assert.Equal(40, metrics.ReferenceCount);
        Assert.True(double.IsFinite(metrics.Fid) && metrics.Fid > 0);
        var record = ConfigJson.Load<EvaluationRecord>(Path.Combine(outDir, EvaluationRun.JsonFile));
        Assert.Equal("tiny-features", record.Extractor);
        Assert.Equal("clip-eps", record.Clip); // DDIM's default, by measurement

        // Interrupted run: eval.json and two images lost. The rerun keeps the others untouched and redraws the two identically.
        File.Delete(Path.Combine(outDir, EvaluationRun.JsonFile));
        File.Delete(EvaluationRun.ImagePath(images, 1));
        File.Delete(EvaluationRun.ImagePath(images, 5));
        var keptTime = File.GetLastWriteTimeUtc(EvaluationRun.ImagePath(images, 3));
        var rerun = CliRunner.Run(args);
        AssertOk(rerun);
        Assert.Contains("Drew 2 images", rerun.Stdout);
        Assert.Equal(keptTime, File.GetLastWriteTimeUtc(EvaluationRun.ImagePath(images, 3)));
        for (var i = 0; i < 7; i++) Assert.Equal(first[i], File.ReadAllBytes(EvaluationRun.ImagePath(images, i)));
        Assert.Equal(metrics, Metrics(outDir));
    }

    [Fact]
    public void Eval_with_a_solver_scores_the_images_ddpm_sample_draws_with_it()
    {
        var run = TinyRun();
        var reference = ReferenceFolder();
        var extractor = TinyExtractor("tiny-features", [4, 8], 16, 1);
        var outDir = Path.Combine(root, "eval-unipc");
        string[] solver = ["--sampler", "unipc", "--steps", "4", "--order", "3", "--seed", "2"];
        AssertOk(CliRunner.Run(["eval", "--checkpoint", run, "--count", "5", .. solver, "--out", outDir, "--extractor", extractor,
            "--reference-dataset", "folder", "--reference-data", reference]));
        var sampled = Path.Combine(root, "sampled");
        AssertOk(CliRunner.Run(["sample", "--checkpoint", run, "--count", "5", .. solver, "--out-dir", sampled]));
        var images = Path.Combine(outDir, EvaluationRun.ImagesFolder);
        var files = Directory.GetFiles(sampled, "*.png").Order().ToArray();
        Assert.Equal(5, files.Length);
        for (var i = 0; i < 5; i++) Assert.Equal(File.ReadAllBytes(files[i]), File.ReadAllBytes(EvaluationRun.ImagePath(images, i)));
        var record = ConfigJson.Load<EvaluationRecord>(Path.Combine(outDir, EvaluationRun.JsonFile));
        Assert.Equal("UniPC-bh2(3)", record.Sampler);
        Assert.Equal(4, record.Steps);

        var ddimOrder = CliRunner.Run("eval", "--checkpoint", run, "--count", "2", "--sampler", "ddim", "--order", "2", "--out", Path.Combine(root, "bad"));
        Assert.NotEqual(0, ddimOrder.ExitCode);
        Assert.Contains("--order applies to dpm-solver++", ddimOrder.Stderr);
    }

    [Fact]
    public void Two_shards_write_exactly_the_unsharded_files()
    {
        var run = TinyRun();
        string[] common = ["sample", "--checkpoint", run, "--count", "5", "--sampler", "ddim", "--steps", "3", "--seed", "9", "--batch-size", "2"];
        var whole = Path.Combine(root, "whole");
        var shards = Path.Combine(root, "shards");
        AssertOk(CliRunner.Run([.. common, "--out-dir", whole]));
        AssertOk(CliRunner.Run([.. common, "--out-dir", shards, "--shard", "0/2"]));
        Assert.Equal(2, Directory.GetFiles(shards).Length); // images 0..1, a contiguous range
        AssertOk(CliRunner.Run([.. common, "--out-dir", shards, "--shard", "1/2"]));
        var names = Directory.GetFiles(whole).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(5, names.Length);
        Assert.Equal(names, Directory.GetFiles(shards).Select(Path.GetFileName).Order().ToArray());
        foreach (var name in names)
            Assert.Equal(File.ReadAllBytes(Path.Combine(whole, name!)), File.ReadAllBytes(Path.Combine(shards, name!)));
    }

    [Fact]
    public void Eval_of_a_folder_against_itself_through_a_second_extractor_scores_a_perfect_match()
    {
        var reference = ReferenceFolder();
        var extractor = TinyExtractor("second-features", [6, 6], 12, 2);
        var outDir = Path.Combine(root, "folder-eval");
        AssertOk(CliRunner.Run("eval", "--images", reference, "--out", outDir, "--extractor", extractor,
            "--reference-dataset", "folder", "--reference-data", reference));
        var record = ConfigJson.Load<EvaluationRecord>(Path.Combine(outDir, EvaluationRun.JsonFile));
        Assert.Equal("second-features", record.Extractor);
        Assert.Equal(40, record.Metrics.GeneratedCount);
        Assert.True(Math.Abs(record.Metrics.Fid) < 1e-6, $"FID {record.Metrics.Fid}");
        Assert.Equal(1.0, record.Metrics.Precision, 12);
        Assert.Equal(1.0, record.Metrics.Recall, 12);
        Assert.Contains("| FID |", File.ReadAllText(Path.Combine(outDir, EvaluationRun.ReportFile)));
    }

    [Fact]
    public void Training_logs_fid_and_kid_every_n_steps_and_a_resumed_run_keeps_earlier_rows()
    {
        var data = TinyRuns.Data();
        using var extractor = FeatureExtractors.Load(TinyExtractor("train-features", [4, 8], 16, 3));
        var reference = EvaluationRun.Features(extractor, data, data.Count, 16);
        var run = Path.Combine(root, "evaluated");
        using (var training = TrainingRun.Start(run, TinyRuns.Config(steps: 4), data))
        {
            training.Evaluation = new TrainingEvaluation(extractor, reference, every: 2, count: 4);
            training.Train();
        }
        var rows = File.ReadAllLines(Path.Combine(run, "eval.csv"));
        Assert.Equal(TrainingEvaluation.Header, rows[0]);
        Assert.Equal(["2", "4"], rows.Skip(1).Select(r => r.Split(',')[0]));
        Assert.All(rows.Skip(1), r => Assert.True(double.IsFinite(double.Parse(r.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture))));
        Assert.True(File.Exists(Path.Combine(run, "fid.png")));
        using (var resumed = TrainingRun.Resume(run, data, new ResumeChanges { Steps = 6 }))
        {
            resumed.Evaluation = new TrainingEvaluation(extractor, reference, every: 2, count: 4);
            resumed.Train();
        }
        Assert.Equal(["2", "4", "6"], File.ReadAllLines(Path.Combine(run, "eval.csv")).Skip(1).Select(r => r.Split(',')[0]));
    }

    [Fact]
    public void Offset_scores_a_later_subset_of_a_split_and_one_past_the_end_is_a_one_line_error()
    {
        var data = Path.Combine(root, "mnist");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "t10k-images-idx3-ubyte"), Ddpm.Tests.Data.TestData.IdxImages(20, 8, 8));
        File.WriteAllBytes(Path.Combine(data, "t10k-labels-idx1-ubyte"), Ddpm.Tests.Data.TestData.IdxLabels([.. Enumerable.Range(0, 20).Select(i => i % 10)]));
        var reference = ReferenceFolder();
        var extractor = TinyExtractor("tiny-features", [4, 8], 16, 1);
        string[] common = ["eval", "--dataset", "mnist", "--data", data, "--split", "test", "--count", "5", "--extractor", extractor,
            "--reference-dataset", "folder", "--reference-data", reference];
        AssertOk(CliRunner.Run([.. common, "--offset", "10", "--out", Path.Combine(root, "later")]));
        var record = ConfigJson.Load<EvaluationRecord>(Path.Combine(root, "later", EvaluationRun.JsonFile));
        Assert.Equal("mnist test (images 10..14)", record.Source);
        Assert.Equal(5, record.Metrics.GeneratedCount);
        AssertOk(CliRunner.Run([.. common, "--out", Path.Combine(root, "first")]));
        Assert.NotEqual(Metrics(Path.Combine(root, "first")).Fid, record.Metrics.Fid);

        var past = CliRunner.Run([.. common, "--offset", "20", "--out", Path.Combine(root, "past")]);
        Assert.NotEqual(0, past.ExitCode);
        Assert.Single(past.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--offset 20 is past the 20 images", past.Stderr);
    }

    [Fact]
    public void Eval_needs_exactly_one_source()
    {
        var r = CliRunner.Run("eval", "--out", Path.Combine(root, "x"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("exactly one of", r.Stderr);
    }
}
