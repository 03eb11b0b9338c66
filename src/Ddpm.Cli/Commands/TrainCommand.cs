using System.CommandLine;
using System.Globalization;
using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Schedules;
using Ddpm.Training;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm train</c>: trains a DDPM on a data set into a run folder, resumable.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "Data set: fashion-mnist, mnist, cifar10 or folder", DefaultValueFactory = _ => "fashion-mnist" }
            .OneOf([.. DatasetNames.All]);
        var data = new Option<string?>("--data") { Description = "Where the data set is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };
        var imageSize = new Option<int?>("--image-size") { Description = "Image side for --dataset folder (resized and centre-cropped)" }.PositiveOrNull();
        var channels = new Option<int?>("--channels") { Description = "1 (grey) or 3 (RGB) for --dataset folder" };
        var preset = new Option<string>("--preset") { Description = "Model preset: small (28×28 grey) or cifar10 (the paper's model)", DefaultValueFactory = _ => "small" }
            .OneOf([.. UNetConfig.PresetNames]);
        var timesteps = new Option<int>("--timesteps") { Description = "Length T of the diffusion chain", DefaultValueFactory = _ => 1000 }.Positive();
        var schedule = new Option<string>("--schedule") { Description = "β schedule: linear, quadratic, sigmoid or cosine", DefaultValueFactory = _ => "linear" }
            .OneOf("linear", "quadratic", "sigmoid", "cosine");
        var steps = new Option<long?>("--steps") { Description = "Training steps (default: the preset's; with --resume, the new total)" }.PositiveOrNull();
        var batchSize = new Option<int?>("--batch-size") { Description = "Images per micro-batch (paper: 128)" }.PositiveOrNull();
        var gradAccum = new Option<int>("--grad-accum") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 }.Positive();
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (paper: 2e-4)" }.PositiveOrNull();
        var warmup = new Option<long?>("--warmup") { Description = "Linear warm-up steps (paper: 5000; small preset: 1000)" };
        var emaDecay = new Option<double?>("--ema-decay") { Description = "EMA decay (paper: 0.9999; small preset: 0.999)" };
        var flip = new Option<bool?>("--random-flip") { Description = "Random horizontal flips (default: on for cifar10 and folders, off otherwise)" };
        var output = new Option<string>("--out") { Description = "Run folder", DefaultValueFactory = _ => "runs/fashion-mnist" };
        var seed = new Option<long>("--seed") { Description = "Seed of every random draw", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest checkpoint" };
        var sampleEvery = new Option<long?>("--sample-every") { Description = "Write an EMA sample grid every N steps (0: only at the end)" };
        var sampleCount = new Option<int?>("--sample-count") { Description = "Images in each sample grid written during training (default 64)" }.PositiveOrNull();
        var checkpointEvery = new Option<long?>("--checkpoint-every") { Description = "Write a checkpoint every N steps (and at the end)" };
        var timeLimit = new Option<double?>("--time-limit") { Description = "Stop training after this many minutes (a checkpoint is written)" }.PositiveOrNull();
        var device = CommonOptions.DeviceOption();
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var evalEvery = new Option<long?>("--eval-every") { Description = "Every N steps, score EMA samples (training-time sampler) against the training split: FID and KID to eval.csv, TensorBoard and fid.png" }.PositiveOrNull();
        var evalCount = new Option<int>("--eval-count") { Description = "Samples per --eval-every evaluation", DefaultValueFactory = _ => 1000 }.Positive();
        var evalExtractor = new Option<string?>("--extractor") { Description = "Feature network for --eval-every (default: the committed classifier for 28×28 grey data)" };

        var loss = new Option<string>("--loss") { Description = "Objective: simple (L_simple, the paper's), kl (the true bound) or hybrid (L_simple + λ·L_vb, for a learned variance)", DefaultValueFactory = _ => "simple" }
            .OneOf([.. ObjectiveNames.LossNames]);
        var meanType = new Option<string>("--mean-type") { Description = "What the network predicts: eps (the paper's), x0, v, or mu (the posterior mean μ̃, Table 2's baseline)", DefaultValueFactory = _ => "eps" }
            .OneOf([.. ObjectiveNames.MeanTypeNames]);
        var variance = new Option<string>("--variance") { Description = "σ_t²: fixed-large (β_t, the official CIFAR-10 run), fixed-small (β̃_t), learned (log σ² output), learned-range (between log β̃ and log β)", DefaultValueFactory = _ => "fixed-large" }
            .OneOf([.. ObjectiveNames.VarianceNames]);
        var lrSchedule = new Option<string>("--lr-schedule") { Description = "Learning rate after the warm-up: constant (the paper's) or cosine (decay to 0 at the last step)", DefaultValueFactory = _ => "constant" }
            .OneOf("constant", "cosine");
        var importanceSampling = new Option<bool>("--importance-sampling") { Description = "Draw timesteps ∝ √E[L_t²] (Nichol & Dhariwal 2021), for --loss kl" };
        var hybridWeight = new Option<double>("--hybrid-weight") { Description = "λ of --loss hybrid", DefaultValueFactory = _ => TrainingLosses.DefaultHybridWeight }.Positive();
        var classCond = new Option<bool>("--class-cond") { Description = "Class-conditional model (the data set's labels; folders: one sub-folder per class), for classifier-free guidance" };
        var condDrop = new Option<double>("--cond-drop") { Description = "Probability of training on the null class instead of the label (classifier-free guidance)", DefaultValueFactory = _ => 0.1 };
        var task = new Option<string>("--task") { Description = "generation, or super-resolution (SR3: conditioned on the bicubically upsampled low-resolution image)", DefaultValueFactory = _ => "generation" }
            .OneOf("generation", "super-resolution");
        var scale = new Option<int?>("--scale") { Description = "Reduction factor of --task super-resolution: 2 or 4 (default 4)" };

        var command = new Command("train", "Train a DDPM (Algorithm 1) into a run folder; Ctrl+C writes a checkpoint and stops.")
        {
            dataset, data, imageSize, channels, preset, timesteps, schedule, steps, batchSize, gradAccum, lr, warmup, emaDecay, flip,
            output, seed, resume, sampleEvery, sampleCount, checkpointEvery, timeLimit, precision, device, evalEvery, evalCount, evalExtractor,
            loss, meanType, variance, lrSchedule, importanceSampling, hybridWeight, classCond, condDrop, task, scale,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var on = CommonOptions.ParseDevice(parse.GetValue(device)!);
            var runDir = parse.GetValue(output)!;
            var dataPath = parse.GetValue(data) is { } d ? Path.GetFullPath(d) : null;
            ByteImageDataset images;
            TrainingRun run;
            if (parse.GetValue(resume))
            {
                var existing = Path.Combine(runDir, CheckpointFiles.Config);
                if (!File.Exists(existing)) throw new FileNotFoundException($"{runDir}: nothing to resume (no {CheckpointFiles.Config}).");
                var saved = RunConfig.Load(existing);
                var t0 = saved.Training;
                var fixedSettings = new FixedSetting[]
                {
                    new(dataset, saved.Data.Dataset, parse.GetValue(dataset)),
                    new(imageSize, saved.Data.ImageSize, parse.GetValue(imageSize)),
                    new(channels, saved.Data.Channels, parse.GetValue(channels)),
                    new(preset, saved.Preset ?? "custom", parse.GetValue(preset)),
                    new(timesteps, saved.Diffusion.Schedule.Timesteps, parse.GetValue(timesteps)),
                    new(schedule, saved.Diffusion.Schedule.Kind, ScheduleCommand.ParseKind(parse.GetValue(schedule)!)),
                    new(batchSize, t0.BatchSize, parse.GetValue(batchSize)),
                    new(gradAccum, t0.GradientAccumulation, parse.GetValue(gradAccum)),
                    new(lr, t0.LearningRate, parse.GetValue(lr)),
                    new(warmup, t0.WarmupSteps, parse.GetValue(warmup)),
                    new(emaDecay, t0.EmaDecay, parse.GetValue(emaDecay)),
                    new(flip, t0.RandomFlip ?? DatasetNames.DefaultRandomFlip(saved.Data.Dataset), parse.GetValue(flip)),
                    new(seed, t0.Seed, parse.GetValue(seed)),
                    new(loss, ObjectiveNames.Of(t0.Loss), parse.GetValue(loss)),
                    new(meanType, ObjectiveNames.Of(saved.Diffusion.MeanType), parse.GetValue(meanType)),
                    new(variance, ObjectiveNames.Of(saved.Diffusion.VarianceType), parse.GetValue(variance)),
                    new(lrSchedule, t0.LearningRateSchedule.ToString().ToLowerInvariant(), parse.GetValue(lrSchedule)),
                    new(importanceSampling, t0.ImportanceSampling, parse.GetValue(importanceSampling)),
                    new(hybridWeight, t0.HybridWeight, parse.GetValue(hybridWeight)),
                    new(classCond, saved.Model.NumClasses > 0, parse.GetValue(classCond)),
                    new(condDrop, saved.Conditioning.LabelDropout, parse.GetValue(condDrop)),
                    new(task, TaskName(saved.Conditioning.Task), parse.GetValue(task)),
                    new(scale, saved.Conditioning.Scale, parse.GetValue(scale)),
                };
                foreach (var setting in fixedSettings)
                {
                    if (Given(parse, setting.Option) && !setting.Agrees)
                    {
                        CliErrors.Report(string.Create(CultureInfo.InvariantCulture,
                            $"{setting.Option.Name} {Text(setting.Given)} contradicts the run in {runDir}, which was started with {Text(setting.Saved)}; resume without it, or start a new run in another --out."));
                        return CliErrors.Usage;
                    }
                }
                var changes = new ResumeChanges
                {
                    Steps = parse.GetValue(steps),
                    Precision = Given(parse, precision) ? ParsePrecision(parse.GetValue(precision)!) : null,
                    SampleEvery = parse.GetValue(sampleEvery),
                    SampleCount = parse.GetValue(sampleCount),
                    CheckpointEvery = parse.GetValue(checkpointEvery),
                    DataPath = dataPath is not null && (saved.Data.Path is null || Path.GetFullPath(saved.Data.Path) != dataPath) ? dataPath : null,
                };
                images = Datasets.Open(DatasetNames.Parse(saved.Data.Dataset), changes.DataPath ?? saved.Data.Path, saved.Data.ImageSize, train: true, saved.Data.Channels);
                run = TrainingRun.Resume(runDir, images, changes, on);
                foreach (var change in run.Trainer.Config.History.Skip(saved.History.Count))
                    Console.WriteLine($"Changed {change.Setting}: {change.From ?? "default"} → {change.To}");
            }
            else
            {
                var kind = DatasetNames.Parse(parse.GetValue(dataset)!);
                var presetName = parse.GetValue(preset)!;
                var defaults = TrainingConfig.ForPreset(presetName);
                var training = defaults with
                {
                    Steps = parse.GetValue(steps) ?? defaults.Steps,
                    BatchSize = parse.GetValue(batchSize) ?? defaults.BatchSize,
                    GradientAccumulation = parse.GetValue(gradAccum),
                    LearningRate = parse.GetValue(lr) ?? defaults.LearningRate,
                    WarmupSteps = parse.GetValue(warmup) ?? defaults.WarmupSteps,
                    EmaDecay = parse.GetValue(emaDecay) ?? defaults.EmaDecay,
                    RandomFlip = parse.GetValue(flip),
                    Seed = parse.GetValue(seed),
                    SampleEvery = parse.GetValue(sampleEvery) ?? defaults.SampleEvery,
                    SampleCount = parse.GetValue(sampleCount) ?? defaults.SampleCount,
                    CheckpointEvery = parse.GetValue(checkpointEvery) ?? defaults.CheckpointEvery,
                    Precision = ParsePrecision(parse.GetValue(precision)!),
                    Loss = ObjectiveNames.ParseLoss(parse.GetValue(loss)!),
                    LearningRateSchedule = parse.GetValue(lrSchedule) == "cosine" ? LearningRateSchedule.Cosine : LearningRateSchedule.Constant,
                    ImportanceSampling = parse.GetValue(importanceSampling),
                    HybridWeight = parse.GetValue(hybridWeight),
                };
                var varianceType = ObjectiveNames.ParseVariance(parse.GetValue(variance)!);
                var model = UNetConfig.FromPreset(presetName);
                var config = new RunConfig
                {
                    Preset = presetName,
                    Model = model with { OutChannels = varianceType.OutputChannels(model.InChannels) },
                    Diffusion = new DiffusionConfig
                    {
                        Schedule = new ScheduleConfig { Kind = ScheduleCommand.ParseKind(parse.GetValue(schedule)!), Timesteps = parse.GetValue(timesteps) },
                        MeanType = ObjectiveNames.ParseMeanType(parse.GetValue(meanType)!),
                        VarianceType = varianceType,
                    },
                    Training = training,
                    // The full path, so that the run resumes from any working directory.
                    Data = new DataConfig { Dataset = DatasetNames.Of(kind), Path = dataPath },
                };
                var superResolution = parse.GetValue(task) == "super-resolution";
                if (superResolution && parse.GetValue(classCond)) throw new ArgumentException("--class-cond and --task super-resolution cannot be combined.");
                if (!superResolution && parse.GetValue(scale) is not null) throw new ArgumentException("--scale is an option of --task super-resolution.");
                var conditioning = new ConditioningConfig
                {
                    Task = superResolution ? ConditioningTask.SuperResolution : ConditioningTask.Generation,
                    LabelDropout = parse.GetValue(condDrop),
                    Scale = superResolution ? parse.GetValue(scale) ?? 4 : 1,
                };
                config = config with
                {
                    Conditioning = conditioning,
                    Model = config.Model with { ConditionChannels = superResolution ? config.Model.InChannels : 0 },
                };
                config.Validate();
                images = Datasets.Open(kind, config.Data.Path, parse.GetValue(imageSize), train: true, parse.GetValue(channels));
                if (parse.GetValue(classCond) && !images.IsLabelled)
                    throw new ArgumentException($"{images.Name} has no labels: --class-cond needs a labelled data set (a folder needs one sub-folder per class).");
                OutputPaths.EnsureWritableDirectory(runDir);
                // A preset fixes the architecture; the image shape and the classes come from the data.
                config = config with
                {
                    Model = config.Model with
                    {
                        ImageSize = images.Height,
                        InChannels = images.Channels,
                        OutChannels = varianceType.OutputChannels(images.Channels),
                        ConditionChannels = superResolution ? images.Channels : 0,
                        NumClasses = parse.GetValue(classCond) ? images.ClassNames.Count : 0,
                    },
                    Conditioning = conditioning with { ClassNames = parse.GetValue(classCond) ? images.ClassNames : [] },
                };
                config.Validate();
                run = TrainingRun.Start(runDir, config, images, on);
            }
            using var ownedRun = run;
            var limit = parse.GetValue(timeLimit) is { } minutes ? TimeSpan.FromMinutes(minutes) : (TimeSpan?)null;
            var t = run.Trainer;
            var limitText = limit is { } l ? string.Create(CultureInfo.InvariantCulture, $", for at most {l.TotalMinutes:0.#} min") : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Training {t.Config.Preset ?? "custom"} U-Net ({t.Model.ParameterCount:N0} parameters) on {t.Config.Data.Dataset} ({images.Count:N0} images) from step {t.Step} to {t.Config.Training.Steps}, batch {t.Config.Training.BatchSize}×{t.Config.Training.GradientAccumulation}{limitText}; run folder {run.RunDirectory}"));

            using var extractor = parse.GetValue(evalEvery) is null ? null
                : parse.GetValue(evalExtractor) is { } ex ? Ddpm.Evaluation.FeatureExtractors.Load(ex, on)
                : Ddpm.Evaluation.FeatureExtractors.DefaultFor(images.Channels, images.Height, images.Width, on);
            if (extractor is not null)
            {
                var cacheDir = DatasetNames.Parse(t.Config.Data.Dataset) == DatasetKind.Folder ? null : EvalCommand.DefaultCache();
                var reference = ProgressDisplay.Run("reference features", images.Count, sink =>
                    Ddpm.Evaluation.EvaluationRun.ReferenceFeatures(extractor, images, t.Config.Data.Dataset, "train", images.Count, 256, cacheDir,
                        new Progress<Ddpm.Evaluation.EvaluationProgress>(p => sink.Update(p.Done, $"{p.Done}/{p.Total}"))));
                run.Evaluation = new TrainingEvaluation(extractor, reference, parse.GetValue(evalEvery)!.Value, parse.GetValue(evalCount));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Scoring {parse.GetValue(evalCount)} EMA samples every {parse.GetValue(evalEvery)} steps against the training split ({extractor.Id}): {Path.Combine(run.RunDirectory, "eval.csv")}"));
            }

            using var interrupt = new InterruptSignals();
            var outcome = ProgressDisplay.Run("train", t.Config.Training.Steps, sink =>
            {
                var reporter = new TrainingReporter(sink);
                return run.Train(reporter, limit, interrupt.Token);
            }, limit);
            Console.WriteLine($"Stopped at step {outcome.Step} ({outcome.Stop}).");
            Console.WriteLine($"Checkpoint: {outcome.Checkpoint}");
            if (outcome.LastSamples is not null) Console.WriteLine($"Samples: {outcome.LastSamples}");
            if (outcome.LossPlot is not null) Console.WriteLine($"Loss curve: {outcome.LossPlot}");
            return outcome.Stop == TrainingStop.Cancelled ? CliErrors.Interrupted : CliErrors.Ok;
        }));
        return command;
    }

    private static Precision ParsePrecision(string name) => name == "bf16" ? Precision.Bf16 : Precision.Fp32;

    /// <summary>Whether the user typed <paramref name="option"/> (rather than it taking its default).</summary>
    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static string Text(object? value) => value switch
    {
        null => "none",
        Enum e => e.ToString().ToLowerInvariant(),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A setting fixed at a run's start: the value saved in <c>config.json</c> and the one given now.</summary>
    private sealed record FixedSetting(Option Option, object? Saved, object? Given)
    {
        public bool Agrees => Saved is string a && Given is string b ? string.Equals(a, b, StringComparison.OrdinalIgnoreCase) : Equals(Saved, Given);
    }

    private sealed class TrainingReporter(IProgressSink sink) : IProgress<TrainingEvent>
    {
        private double smoothedLoss = double.NaN;

        public void Report(TrainingEvent e)
        {
            switch (e.Phase)
            {
                case TrainingPhase.Step when e.Metrics is { } m:
                    smoothedLoss = double.IsNaN(smoothedLoss) ? m.Loss : 0.98 * smoothedLoss + 0.02 * m.Loss;
                    sink.Update(e.Step, string.Create(CultureInfo.InvariantCulture,
                        $"step {e.Step}/{e.TotalSteps} loss {smoothedLoss:F4} {m.ImagesPerSecond:F0} img/s"));
                    break;
                case TrainingPhase.Sampling:
                    sink.Update(e.Step, $"step {e.Step}/{e.TotalSteps} drawing EMA samples");
                    break;
                case TrainingPhase.SamplesWritten:
                    sink.Log($"step {e.Step}: samples {e.Path}");
                    break;
                case TrainingPhase.Checkpoint:
                    sink.Log($"step {e.Step}: checkpoint {e.Path}");
                    break;
            }
        }
    }

    /// <summary>The option value of a task.</summary>
    internal static string TaskName(ConditioningTask task) => task == ConditioningTask.SuperResolution ? "super-resolution" : "generation";
}
