using System.Text.Json;
using Ddpm.Checkpoints;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;

namespace Ddpm.Tests.Training;

/// <summary>N steps, and N/2 steps + resume + N/2 steps, end bit-identical (dropout, shuffling and flips on, split mid-epoch).</summary>
public sealed class ResumeTests : IDisposable
{
    private readonly TempFolder temp = new();

    [Fact]
    public void Resuming_mid_epoch_reproduces_an_uninterrupted_run_bit_for_bit()
    {
        // 40 images, batch 6: an epoch is 6 batches, so step 5 stops mid-epoch and the run crosses into epoch 1 after resuming.
        var data = TinyRuns.Data();
        var straight = Path.Combine(temp.Path, "straight");
        var split = Path.Combine(temp.Path, "split");
        string endStraight, endSplit;
        using (var run = TrainingRun.Start(straight, TinyRuns.Config(steps: 10), data))
        {
            endStraight = run.Train().Checkpoint;
        }
        using (var run = TrainingRun.Start(split, TinyRuns.Config(steps: 10), data))
        {
            // Interrupted after step 5, as Ctrl+C does: Train writes a checkpoint and returns.
            using var cts = new CancellationTokenSource();
            var stopped = run.Train(new Progress(e => { if (e.Step == 5) cts.Cancel(); }), cancellation: cts.Token);
            Assert.Equal(TrainingStop.Cancelled, stopped.Stop);
        }
        var configBefore = File.ReadAllText(Path.Combine(split, CheckpointFiles.Config));
        using (var run = TrainingRun.Resume(split, data))
        {
            Assert.Equal(5, run.Trainer.Step);
            endSplit = run.Train().Checkpoint;
        }
        foreach (var file in new[] { CheckpointFiles.Model, CheckpointFiles.Ema })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(endStraight, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(endSplit, file))), $"{file} differs");
        }
        // Adam's moments and step counts, tensor by tensor (the pickle's zip container carries timestamps).
        var optimizerA = Path.Combine(endStraight, CheckpointFiles.Optimizer);
        Assert.Empty(PickledState.Differences(optimizerA, Path.Combine(endSplit, CheckpointFiles.Optimizer)));
        Assert.True(PickledState.TensorCount(optimizerA) > 100);
        var a = ConfigJson.Load<TrainingState>(Path.Combine(endStraight, CheckpointFiles.State));
        var b = ConfigJson.Load<TrainingState>(Path.Combine(endSplit, CheckpointFiles.State));
        Assert.Equal(10, a.Step);
        Assert.Equal(a with { TrainSeconds = 0, RecentLoss = null }, b with { TrainSeconds = 0, RecentLoss = null });
        Assert.NotEqual(0, a.LoaderEpoch); // the run really crossed an epoch boundary
        Assert.True(a.DropoutPosition > 0); // and drew dropout masks
        var metrics = File.ReadAllLines(Path.Combine(split, "metrics.csv"));
        Assert.Equal(11, metrics.Length); // header + one row per step, none duplicated by the resumption
        Assert.Equal(configBefore, File.ReadAllText(Path.Combine(split, CheckpointFiles.Config))); // nothing changed, nothing rewritten
    }

    [Fact]
    public void A_safe_change_on_resume_is_applied_written_and_recorded()
    {
        var dir = Path.Combine(temp.Path, "change");
        var data = TinyRuns.Data();
        using (var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 3), data)) run.Train();
        var configPath = Path.Combine(dir, CheckpointFiles.Config);
        var started = RunConfig.Load(configPath);
        Assert.Equal((8, 1, 40), (started.Data.ImageSize, started.Data.Channels, started.Data.Images));

        // The sample count is given as saved: not a change, not recorded.
        var changes = new ResumeChanges { Steps = 5, Precision = Precision.Bf16, SampleCount = started.Training.SampleCount };
        using (var run = TrainingRun.Resume(dir, data, changes))
        {
            Assert.Equal(3, run.Trainer.Step);
            Assert.Equal(Precision.Bf16, run.Trainer.Config.Training.Precision);
            Assert.Equal(5, run.Train().Step);
        }
        var saved = RunConfig.Load(configPath);
        Assert.Equal((5L, Precision.Bf16), (saved.Training.Steps, saved.Training.Precision));
        Assert.Equal(
            [("training.steps", "3", "5"), ("training.precision", "fp32", "bf16")],
            saved.History.Select(c => (c.Setting, c.From, c.To)));
        Assert.All(saved.History, c => Assert.Equal(3, c.Step));
        // The checkpoint written after the change carries the changed configuration too.
        Assert.Equal(Precision.Bf16, RunConfig.Load(Path.Combine(CheckpointStore.Resolve(dir), CheckpointFiles.Config)).Training.Precision);
    }

    [Fact]
    public void Resuming_on_a_data_set_of_another_size_is_refused()
    {
        var dir = Path.Combine(temp.Path, "other-data");
        using (var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 1), TinyRuns.Data())) run.Train();
        var e = Assert.Throws<ArgumentException>(() => TrainingRun.Resume(dir, TinyRuns.Data(count: 30)));
        Assert.Contains("30 images", e.Message);
        Assert.Contains("trained on 40", e.Message);
    }

    [Fact]
    public void Checkpoints_keep_the_last_three_and_point_at_the_latest()
    {
        var dir = Path.Combine(temp.Path, "keep");
        var config = TinyRuns.Config(steps: 5) with { Training = TinyRuns.Config().Training with { Steps = 5, CheckpointEvery = 1 } };
        using var run = TrainingRun.Start(dir, config, TinyRuns.Data());
        var outcome = run.Train();
        var store = new CheckpointStore(dir);
        Assert.Equal(["step-0000003", "step-0000004", "step-0000005"], store.List().Select(Path.GetFileName));
        Assert.Equal(outcome.Checkpoint, store.Latest);
        Assert.Equal(store.Latest, CheckpointStore.Resolve(dir));
        Assert.Empty(Directory.GetDirectories(store.CheckpointsDirectory, ".*"));
        Assert.True(File.Exists(Path.Combine(dir, "loss.png")));
        Assert.True(File.Exists(outcome.LastSamples));
        Assert.True(Directory.EnumerateFiles(Path.Combine(dir, "tensorboard")).Any());
    }

    [Fact]
    public void A_folder_that_holds_a_run_is_not_overwritten()
    {
        var dir = Path.Combine(temp.Path, "taken");
        using (var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 1), TinyRuns.Data())) run.Train();
        var e = Assert.Throws<IOException>(() => TrainingRun.Start(dir, TinyRuns.Config(steps: 1), TinyRuns.Data()));
        Assert.Contains("--resume", e.Message);
    }

    [Fact]
    public void A_time_limit_or_cancellation_stops_with_a_checkpoint()
    {
        var dir = Path.Combine(temp.Path, "limit");
        using var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 1000), TinyRuns.Data());
        var outcome = run.Train(timeLimit: TimeSpan.Zero);
        Assert.Equal(TrainingStop.TimeLimit, outcome.Stop);
        Assert.Equal(0, outcome.Step);
        using var cts = new CancellationTokenSource();
        var progress = new Progress(e => { if (e.Step == 3) cts.Cancel(); });
        var cancelled = run.Train(progress, cancellation: cts.Token);
        Assert.Equal(TrainingStop.Cancelled, cancelled.Stop);
        Assert.Equal(3, cancelled.Step);
        Assert.EndsWith("step-0000003", cancelled.Checkpoint);
    }

    private sealed class Progress(Action<TrainingEvent> action) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value) => action(value);
    }

    public void Dispose() => temp.Dispose();
}
