using System.Diagnostics;
using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// A training run in a folder: <c>config.json</c>, <c>checkpoints/</c> (last few kept, atomic), <c>metrics.csv</c> and
/// TensorBoard files, EMA sample grids in <c>samples/</c>, and <c>loss.png</c> at the end. It resumes exactly from its
/// latest checkpoint. Progress goes to an <see cref="IProgress{T}"/>; nothing is written to the console.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private readonly CheckpointStore store;
    private readonly MetricsLog metrics;
    private readonly Queue<double> recentLosses = new();
    private const int RecentWindow = 100;

    private TrainingRun(string runDirectory, Trainer trainer)
    {
        RunDirectory = Path.GetFullPath(runDirectory);
        Trainer = trainer;
        store = new CheckpointStore(RunDirectory, trainer.Config.Training.KeepCheckpoints);
        metrics = new MetricsLog(RunDirectory, trainer.Step);
    }

    /// <summary>The run folder.</summary>
    public string RunDirectory { get; }

    /// <summary>The trainer (model, EMA, optimizer, data).</summary>
    public Trainer Trainer { get; }

    /// <summary>The folder of EMA sample grids.</summary>
    public string SamplesDirectory => Path.Combine(RunDirectory, "samples");

    /// <summary>
    /// Starts a new run of <paramref name="config"/> on <paramref name="dataset"/> in <paramref name="runDirectory"/>,
    /// training on <paramref name="device"/> (the CPU when null).
    /// A folder that already holds a run is refused (resume it with <see cref="Resume"/> instead).
    /// </summary>
    public static TrainingRun Start(string runDirectory, RunConfig config, IDataset dataset, Device? device = null)
    {
        config = config with { Data = config.Data with { Images = dataset.Count, ImageSize = dataset.Height, Channels = dataset.Channels } };
        config.Validate();
        var configPath = Path.Combine(runDirectory, CheckpointFiles.Config);
        if (File.Exists(configPath) || new CheckpointStore(runDirectory).Latest is not null)
            throw new IOException($"{runDirectory} already holds a run; resume it (--resume) or choose another --out.");
        var trainer = new Trainer(config, dataset, device);
        try
        {
            ConfigJson.Save(config, configPath);
            return new TrainingRun(runDirectory, trainer);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Resumes the run in <paramref name="runDirectory"/> from its latest checkpoint (or from the start if it has none),
    /// on <paramref name="dataset"/>, which must hold as many images, of the same shape, as the run was started on.
    /// <paramref name="changes"/>, when given, changes the settings that may change (total steps, precision, sample and
    /// checkpoint cadence, data location); each real change is written to <c>config.json</c> and recorded in its
    /// <see cref="RunConfig.History"/>. Without changes the run continues bit-identically.
    /// </summary>
    public static TrainingRun Resume(string runDirectory, IDataset dataset, ResumeChanges? changes = null, Device? device = null)
    {
        var configPath = Path.Combine(runDirectory, CheckpointFiles.Config);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{runDirectory}: not a run folder (no {CheckpointFiles.Config}).", configPath);
        var saved = RunConfig.Load(configPath);
        if (saved.Data.Images > 0 && dataset.Count != saved.Data.Images)
        {
            throw new ArgumentException(
                $"The data set '{dataset.Name}' has {dataset.Count} images but the run in {runDirectory} was trained on {saved.Data.Images}; resume it on the same data.");
        }
        var latest = new CheckpointStore(runDirectory).Latest;
        var step = latest is null ? 0 : ConfigJson.Load<TrainingState>(Path.Combine(latest, CheckpointFiles.State)).Step;
        var config = changes is null ? saved : changes.ApplyTo(saved, step, DateTimeOffset.UtcNow);
        var trainer = new Trainer(config, dataset, device);
        try
        {
            if (latest is not null) trainer.RestoreCheckpoint(latest);
            if (config.History.Count != saved.History.Count) ConfigJson.Save(config, configPath);
            return new TrainingRun(runDirectory, trainer);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Trains until the configured step count, the <paramref name="timeLimit"/>, or cancellation, whichever comes first,
    /// writing metrics every step, sample grids and checkpoints at their intervals, and a final checkpoint and loss plot.
    /// </summary>
    public TrainingOutcome Train(IProgress<TrainingEvent>? progress = null, TimeSpan? timeLimit = null, CancellationToken cancellation = default)
    {
        var training = Trainer.Config.Training;
        var total = training.Steps;
        var clock = Stopwatch.StartNew();
        string? lastSamples = null;
        StepMetrics? last = null;
        var stop = TrainingStop.Completed;
        var lastCheckpointStep = store.Latest is null ? -1 : Trainer.Step;
        while (Trainer.Step < total)
        {
            if (cancellation.IsCancellationRequested) { stop = TrainingStop.Cancelled; break; }
            if (timeLimit is { } limit && clock.Elapsed >= limit) { stop = TrainingStop.TimeLimit; break; }
            last = Trainer.TrainStep();
            metrics.Write(last, Trainer.TrainSeconds);
            recentLosses.Enqueue(last.Loss);
            if (recentLosses.Count > RecentWindow) recentLosses.Dequeue();
            progress?.Report(new TrainingEvent(TrainingPhase.Step, Trainer.Step, total, last));
            if (training.SampleEvery > 0 && Trainer.Step % training.SampleEvery == 0)
                lastSamples = WriteSamples(progress, last);
            if (Evaluation is { } e && Trainer.Step % e.Every == 0) Evaluate(progress, last);
            if (training.CheckpointEvery > 0 && Trainer.Step % training.CheckpointEvery == 0 && Trainer.Step < total)
            {
                Checkpoint(progress, last);
                lastCheckpointStep = Trainer.Step;
            }
        }
        var checkpoint = lastCheckpointStep == Trainer.Step && store.Latest is { } existing ? existing : Checkpoint(progress, last);
        if (stop == TrainingStop.Completed && (training.SampleEvery == 0 || Trainer.Step % training.SampleEvery != 0) && Trainer.Step > 0)
            lastSamples = WriteSamples(progress, last);
        var lossPlot = WriteLossPlot();
        return new TrainingOutcome(stop, Trainer.Step, checkpoint, lastSamples, lossPlot);
    }

    /// <summary>Writes a checkpoint of the current state now.</summary>
    public string Checkpoint(IProgress<TrainingEvent>? progress = null, StepMetrics? last = null)
    {
        metrics.Flush();
        double? recent = recentLosses.Count > 0 ? recentLosses.Average() : null;
        var dir = store.Save(Trainer.Step, d => Trainer.WriteCheckpoint(d, recent));
        progress?.Report(new TrainingEvent(TrainingPhase.Checkpoint, Trainer.Step, Trainer.Config.Training.Steps, last, dir));
        return dir;
    }

    /// <summary>Sample quality logged during training (null: none). Set before <see cref="Train"/>.</summary>
    public TrainingEvaluation? Evaluation
    {
        get => evaluation;
        set
        {
            evaluation = value;
            evalCsv = value is null ? null : TrainingEvaluation.OpenCsv(RunDirectory, Trainer.Step);
        }
    }

    private TrainingEvaluation? evaluation;
    private string? evalCsv;

    /// <summary>Scores <see cref="TrainingEvaluation.Count"/> EMA samples of the training-time sampler now and logs FID and KID.</summary>
    public QualityReport Evaluate(IProgress<TrainingEvent>? progress = null, StepMetrics? last = null)
    {
        var e = Evaluation ?? throw new InvalidOperationException("No evaluation is configured.");
        progress?.Report(new TrainingEvent(TrainingPhase.Sampling, Trainer.Step, Trainer.Config.Training.Steps, last));
        using var images = DrawSamples(e.Count);
        var report = e.Score(images);
        TrainingEvaluation.Append(evalCsv!, Trainer.Step, report);
        metrics.WriteScalar("eval/fid", report.Fid, Trainer.Step);
        metrics.WriteScalar("eval/kid", report.KidMean, Trainer.Step);
        return report;
    }

    /// <summary>EMA samples of the training-time sampler (<see cref="SamplerSettings.Recommended"/> with <see cref="TrainingConfig.SampleSteps"/> steps, the run's seed).</summary>
    private Tensor DrawSamples(int count)
    {
        var training = Trainer.Config.Training;
        var model = Trainer.Config.Model;
        var sampler = (SamplerSettings.Recommended with { Steps = Math.Min(training.SampleSteps, Trainer.Diffusion.Timesteps) }).Create(Trainer.Diffusion);
        try
        {
            var pipeline = new SamplingPipeline((x, t, c) => Trainer.EmaModel.ForwardConditioned(x, t, c.Labels, c.Image), sampler, Trainer.Diffusion, Trainer.Device);
            using var scope = NewDisposeScope();
            // A class-conditional model draws the classes in turn (image i of class i mod K); super-resolution upscales
            // the first training images.
            var labels = model.NumClasses > 0 ? Enumerable.Range(0, count).Select(i => (long)(i % model.NumClasses)).ToArray() : null;
            Tensor? condition = null;
            if (Trainer.Config.Conditioning.Task == ConditioningTask.SuperResolution)
            {
                using var originals = DatasetImages.Read(Trainer.Dataset, 0, Math.Min(count, Trainer.Dataset.Count));
                condition = SuperResolution.ConditionFor(originals, Trainer.Config.Conditioning.Scale).to(Trainer.Device);
                count = (int)condition.shape[0];
            }
            var request = new SampleRequest(count, model.InChannels, model.ImageSize, model.ImageSize, training.Seed) { Labels = labels, ConditionImage = condition };
            return pipeline.Generate(request).MoveToOuterDisposeScope();
        }
        finally
        {
            (sampler as IDisposable)?.Dispose();
        }
    }

    /// <summary>Draws the configured grid of EMA samples (the recommended sampler) and writes <c>samples/step-NNNNNNN.png</c>.</summary>
    public string WriteSamples(IProgress<TrainingEvent>? progress = null, StepMetrics? last = null)
    {
        var training = Trainer.Config.Training;
        progress?.Report(new TrainingEvent(TrainingPhase.Sampling, Trainer.Step, training.Steps, last));
        var model = Trainer.Config.Model;
        using var images = DrawSamples(training.SampleCount);
        var path = Path.Combine(SamplesDirectory, $"{CheckpointFiles.StepFolder(Trainer.Step)}.png");
        // A class-conditional model's grid has a column per class (image i is of class i mod K).
        ImageGrid.SavePng(images, path, new GridOptions { Scale = model.ImageSize < 64 ? 2 : 1, Columns = model.NumClasses > 0 ? model.NumClasses : null });
        progress?.Report(new TrainingEvent(TrainingPhase.SamplesWritten, Trainer.Step, training.Steps, last, path));
        return path;
    }

    private string? WriteLossPlot()
    {
        metrics.Flush();
        var (steps, losses) = MetricsLog.ReadLoss(metrics.CsvPath);
        if (steps.Count < 2) return null;
        var path = Path.Combine(RunDirectory, "loss.png");
        Plots.LossCurve(steps, losses, path, $"L_simple, {Trainer.Config.Data.Dataset}");
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        metrics.Dispose();
        Trainer.Dispose();
    }
}
