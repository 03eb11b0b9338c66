using Ddpm.Checkpoints;
using Ddpm.Data;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;

namespace Ddpm.Tests.Checkpoints;

/// <summary>config.json as older versions wrote it (the published Fashion-MNIST run) still loads and resumes.</summary>
public sealed class RunConfigTests : IDisposable
{
    private readonly TempFolder temp = new();

    private static string PublishedRun => Path.Combine(CliRunner.RepositoryRoot(), "models", "fashion-mnist-run");

    [Fact]
    public void A_config_written_before_the_data_shape_was_recorded_takes_the_models_shape()
    {
        var path = Path.Combine(PublishedRun, CheckpointFiles.Config);
        Assert.DoesNotContain("\"channels\"", File.ReadAllText(path)); // really an old file: its data has no shape
        var config = RunConfig.Load(path);
        Assert.Equal(28, config.Data.ImageSize);
        Assert.Equal(1, config.Data.Channels);
        Assert.Empty(config.History);
        Assert.Equal(20_000, config.Training.Steps);
        Assert.Equal(Precision.Fp32, config.Training.Precision);
    }

    [Fact]
    public void The_published_run_resumes_from_its_checkpoint_and_records_a_change()
    {
        // A copy, so the repository's run is never written; a stand-in for Fashion-MNIST's 60000 training images.
        var run = Path.Combine(temp.Path, "run");
        foreach (var file in Directory.EnumerateFiles(PublishedRun, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(run, Path.GetRelativePath(PublishedRun, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var blank = new byte[28 * 28];
        var data = new ByteImageDataset("fashion-mnist", 1, 28, 28, Enumerable.Repeat(blank, 60_000).ToList());
        var configPath = Path.Combine(run, CheckpointFiles.Config);
        var before = File.ReadAllText(configPath);
        using (var resumed = TrainingRun.Resume(run, data))
        {
            Assert.Equal(6800, resumed.Trainer.Step);
        }
        Assert.Equal(before, File.ReadAllText(configPath)); // nothing changed, nothing written

        using (var resumed = TrainingRun.Resume(run, data, new ResumeChanges { Precision = Precision.Bf16 }))
        {
            Assert.Equal(6800, resumed.Trainer.Step);
            Assert.Equal(Precision.Bf16, resumed.Trainer.Config.Training.Precision);
        }
        var saved = RunConfig.Load(configPath);
        var change = Assert.Single(saved.History);
        Assert.Equal(("training.precision", "fp32", "bf16", 6800L), (change.Setting, change.From, change.To, change.Step));
        Assert.Contains("\"channels\": 1", File.ReadAllText(configPath)); // the upgraded file now records the data's shape
    }

    public void Dispose() => temp.Dispose();
}
