using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Evaluation;
using Ddpm.Sampling;
using Spectre.Console;

namespace Ddpm.Cli.Commands;

/// <summary>
/// <c>ddpm eval</c>: sample a checkpoint into a folder (resumable, shardable) and score it, or score a folder of images or a
/// data set split, against a reference split's cached features: FID, KID, the Inception-style score, precision and recall.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Sample this run folder or checkpoint (EMA weights) and score the samples" };
        var imagesOption = new Option<string?>("--images") { Description = "Score the images of this folder instead (e.g. another implementation's samples or gathered shards)" };
        var datasetOption = new Option<string?>("--dataset") { Description = "Score real images of a data set instead (the real-data floor): fashion-mnist, mnist, cifar10" };
        var data = new Option<string?>("--data") { Description = "Where --dataset is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };
        var split = new Option<string>("--split") { Description = "Split of --dataset to score", DefaultValueFactory = _ => "test" }.OneOf("train", "test");
        var count = new Option<int?>("--count") { Description = "Images to sample or score (default: 1000 when sampling, all of --images or --dataset)" }.PositiveOrNull();
        var offset = new Option<int>("--offset") { Description = "With --dataset: score images from this index on (disjoint subsets give the spread of a metric at one N)", DefaultValueFactory = _ => 0 }.NonNegative();
        var seed = new Option<long>("--seed") { Description = "Seed; image i depends only on (seed, i)", DefaultValueFactory = _ => 0 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per model call (does not change the images)", DefaultValueFactory = _ => 64 }.Positive();
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 sampling compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var output = new Option<string>("--out") { Description = "Output folder: images/, eval.json, report.md, samples.png, nearest-neighbours.png", Required = true };
        var reference = new Option<string>("--reference") { Description = "Reference split: train (as papers) or test", DefaultValueFactory = _ => "train" }.OneOf("train", "test");
        var referenceDataset = new Option<string?>("--reference-dataset") { Description = "Reference data set (default: the checkpoint's, else fashion-mnist); folder for an image folder" };
        var referenceData = new Option<string?>("--reference-data") { Description = "Where the reference data set is (default: the checkpoint's, else the data set's default)" };
        var referenceCount = new Option<int?>("--reference-count") { Description = "Reference images (default: the whole split)" }.PositiveOrNull();
        var extractorOption = new Option<string?>("--extractor") { Description = "Feature network: a JSON description (or folder with config.json) naming safetensors weights, or a name under models/" };
        var inception = new Option<string?>("--inception") { Description = "pytorch-fid's Inception-v3 weights (pt_inception-2015-12-05-6726825d.pth), for RGB data and published FIDs" };
        var cache = new Option<string?>("--cache") { Description = "Folder of cached reference features (default: $XDG_CACHE_HOME/ddpm or ~/.cache/ddpm)" };
        var shard = new Option<string?>("--shard") { Description = "I/N: only sample shard I of N (a contiguous range of indices) into --out/images; gather the folders and score with --images" };
        var samplerOptions = new SamplerOptions();
        var device = CommonOptions.DeviceOption();
        var command = new Command("eval", "Measure sample quality (FID, KID, Inception-style score, precision/recall) of a checkpoint, an image folder or real data.")
        {
            checkpoint, imagesOption, datasetOption, data, split, count, offset, seed, batchSize, precision, output,
            reference, referenceDataset, referenceData, referenceCount, extractorOption, inception, cache, shard, device,
        };
        samplerOptions.AddTo(command);
        var conditioningOptions = new ConditioningOptions();
        conditioningOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var on = CommonOptions.ParseDevice(parse.GetValue(device)!);
            var sources = new[] { parse.GetValue(checkpoint), parse.GetValue(imagesOption), parse.GetValue(datasetOption) }.Count(s => s is not null);
            if (sources != 1) throw new ArgumentException("Give exactly one of --checkpoint, --images and --dataset.");
            if (parse.GetValue(extractorOption) is not null && parse.GetValue(inception) is not null) throw new ArgumentException("Give --extractor or --inception, not both.");
            var outDir = parse.GetValue(output)!;
            OutputPaths.EnsureWritableDirectory(outDir);
            var batch = parse.GetValue(batchSize);
            var shardValue = parse.GetValue(shard) is { } s ? Shard.Parse(s) : null;
            if (shardValue is not null && parse.GetValue(checkpoint) is null) throw new ArgumentException("--shard applies to sampling (--checkpoint).");
            if (parse.GetValue(offset) != 0 && parse.GetValue(datasetOption) is null) throw new ArgumentException("--offset applies to --dataset.");

            var refDatasetName = parse.GetValue(referenceDataset) ?? "fashion-mnist";
            var refPath = parse.GetValue(referenceData);
            ByteImageDataset generated;
            EvaluationRecord description;
            double sampleSeconds = 0;
            ClassChoice? classes = null;
            if (parse.GetValue(checkpoint) is { } checkpointPath)
            {
                using var model = DiffusionModel.Load(checkpointPath, preferEma: true,
                    parse.GetValue(precision) == "bf16" ? Ddpm.Training.Precision.Bf16 : Ddpm.Training.Precision.Fp32, on);
                if (parse.GetValue(referenceDataset) is null && DatasetNames.TryParse(model.Config.Data.Dataset) is not null)
                {
                    refDatasetName = model.Config.Data.Dataset;
                    refPath ??= model.Config.Data.Path;
                }
                var settings = samplerOptions.Get(parse);
                var guidance = parse.GetValue(conditioningOptions.Guidance);
                if (!model.IsClassConditional && (guidance != 1 || parse.GetValue(conditioningOptions.Class) is not null))
                    throw new ArgumentException("--class and --guidance need a class-conditional model (ddpm train --class-cond); this one is unconditional.");
                if (conditioningOptions.IsAll(parse)) throw new ArgumentException("ddpm eval draws one class or the classes in turn: give --class K|NAME, or no --class.");
                classes = model.IsClassConditional
                    ? new ClassChoice(model.ClassNames.Count, parse.GetValue(conditioningOptions.Class) is { } c ? ConditioningOptions.Parse(c, model.ClassNames) : null, guidance)
                    : null;
                var n = parse.GetValue(count) ?? 1000;
                var stepCount = settings.StepCount(model.Diffusion.Timesteps);
                var imagesDir = Path.Combine(outDir, EvaluationRun.ImagesFolder);
                var part = shardValue ?? Shard.Whole;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Sampling images {part.First(n)}..{part.First(n) + part.Length(n) - 1} of {n} with {settings.DisplayName} ({stepCount} steps, x̂0 {SamplerOptions.ClipName(settings)}) from {model.CheckpointDirectory} into {imagesDir} (images already there are kept)"));
                var clock = Stopwatch.StartNew();
                var drawn = ProgressDisplay.Run("sample", Math.Max(1, part.Length(n)), sink =>
                    EvaluationRun.GenerateMissing(model, settings, imagesDir, n, parse.GetValue(seed), batch, part, new Reporter(sink), classes));
                sampleSeconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Drew {drawn} images in {sampleSeconds:F1} s; {part.Length(n) - drawn} were already there."));
                if (shardValue is { Count: > 1 })
                {
                    Console.WriteLine($"Shard {shardValue} written. Gather every shard's {EvaluationRun.ImagesFolder} folder into one and score it with ddpm eval --images FOLDER.");
                    return CliErrors.Ok;
                }
                generated = EvaluationRun.LoadSamples(imagesDir, n);
                description = new EvaluationRecord
                {
                    Source = model.CheckpointDirectory,
                    Sampler = settings.DisplayName,
                    Steps = stepCount,
                    Clip = SamplerOptions.ClipName(settings),
                    Seed = parse.GetValue(seed),
                    Classes = classes?.Describe(model.ClassNames),
                    Guidance = classes?.Guidance,
                    Metrics = null!,
                };
            }
            else if (parse.GetValue(imagesOption) is { } folder)
            {
                generated = Take(EvaluationRun.LoadFolder(folder), parse.GetValue(count));
                description = new EvaluationRecord { Source = Path.GetFullPath(folder), Metrics = null! };
            }
            else
            {
                var name = parse.GetValue(datasetOption)!;
                var kind = DatasetNames.Parse(name);
                if (kind == DatasetKind.Folder) throw new ArgumentException("--dataset folder: use --images FOLDER.");
                var first = parse.GetValue(offset);
                generated = Take(Datasets.Open(kind, parse.GetValue(data), train: parse.GetValue(split) == "train"), parse.GetValue(count), first);
                if (parse.GetValue(referenceDataset) is null)
                {
                    refDatasetName = DatasetNames.Of(kind);
                    refPath ??= parse.GetValue(data);
                }
                description = new EvaluationRecord { Source = first == 0 ? $"{DatasetNames.Of(kind)} {parse.GetValue(split)} (first {generated.Count} images)"
                    : $"{DatasetNames.Of(kind)} {parse.GetValue(split)} (images {first}..{first + generated.Count - 1})", Metrics = null! };
            }

            var refKind = DatasetNames.Parse(refDatasetName);
            var refSplit = parse.GetValue(reference)!;
            var referenceImages = Datasets.Open(refKind, refPath, generated.Height, refSplit == "train", generated.Channels);
            var refCount = Math.Min(parse.GetValue(referenceCount) ?? referenceImages.Count, referenceImages.Count);
            using var extractor = parse.GetValue(extractorOption) is { } e ? FeatureExtractors.Load(e, on)
                : parse.GetValue(inception) is { } i ? FeatureExtractors.Load(i, on)
                : FeatureExtractors.DefaultFor(generated.Channels, generated.Height, generated.Width, on);
            // An image folder has no stable name to key a cache by: its features are computed each time.
            var cacheDir = refKind == DatasetKind.Folder ? null : parse.GetValue(cache) ?? DefaultCache();
            var referenceName = $"{DatasetNames.Of(refKind)} {refSplit} ({refCount} images)";
            var scoreClock = Stopwatch.StartNew();
            var referenceFeatures = ProgressDisplay.Run("reference features", refCount, sink =>
                EvaluationRun.ReferenceFeatures(extractor, referenceImages, DatasetNames.Of(refKind), refSplit, refCount, 256, cacheDir, new Reporter(sink)));
            var record = ProgressDisplay.Run("features", generated.Count, sink =>
                EvaluationRun.Score(extractor, generated, referenceFeatures, referenceImages,
                    description with { Reference = referenceName, SampleSeconds = sampleSeconds, ScoreSeconds = scoreClock.Elapsed.TotalSeconds },
                    outDir, 256, new QualityOptions { Seed = parse.GetValue(seed) }, new Reporter(sink), classes));

            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.Title = new TableTitle(Markup.Escape($"{record.Source} against {referenceName}, features {extractor.Id}"));
            foreach (var (name, value) in EvaluationRun.Rows(record)) table.AddRow(Markup.Escape(name), Markup.Escape(value));
            AnsiConsole.Write(table);
            Console.WriteLine($"Report: {Path.GetFullPath(Path.Combine(outDir, EvaluationRun.ReportFile))}");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static ByteImageDataset Take(ByteImageDataset data, int? count, int offset = 0)
    {
        if (offset >= data.Count) throw new ArgumentException($"--offset {offset} is past the {data.Count} images of the split.");
        var n = Math.Min(count ?? data.Count, data.Count - offset);
        if (offset == 0 && n == data.Count) return data;
        var images = Enumerable.Range(offset, n).Select(i => data.GetBytes(i).ToArray()).ToList();
        return new ByteImageDataset(data.Name, data.Channels, data.Height, data.Width, images);
    }

    /// <summary>The reference-features cache: $XDG_CACHE_HOME/ddpm or ~/.cache/ddpm.</summary>
    internal static string DefaultCache()
    {
        var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root)) root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "ddpm");
    }

    private sealed class Reporter(IProgressSink sink) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress p) =>
            sink.Update(p.Done, string.Create(CultureInfo.InvariantCulture, $"{p.Done}/{p.Total}"));
    }
}
