using System.CommandLine;
using System.Globalization;
using Ddpm.Analysis;
using Ddpm.Imaging;
using Ddpm.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm sample</c>: draws images from a trained model into one PNG grid or single PNGs.</summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder", Required = true };
        var count = new Option<int>("--count") { Description = "Number of images", DefaultValueFactory = _ => 64 }.Positive();
        var batchSize = new Option<int>("--batch-size") { Description = "Images per model call (does not change the images)", DefaultValueFactory = _ => 64 }.Positive();
        var samplerOptions = new SamplerOptions();
        var seed = new Option<long>("--seed") { Description = "Seed; image i depends only on (seed, i)", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Write one PNG grid here (default samples.png unless --out-dir is given)" };
        var outDir = new Option<string?>("--out-dir") { Description = "Write one PNG per image into this folder" };
        var raw = new Option<bool>("--raw") { Description = "Use the raw weights instead of the EMA weights" };
        var scale = new Option<int>("--scale") { Description = "Upscale factor of the grid (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();
        var progressive = new Option<string?>("--progressive")
        {
            Description = "Coarse to fine: a .gif path writes one animated GIF of the predicted x̂0 of up to 16 images; a folder gets a strip of x̂0 at --frames steps per image, "
                + "a grid of every strip, and GIFs of x_t and of x̂0 over the chain",
        };
        var frames = new Option<int>("--frames") { Description = "Frames of each --progressive strip, evenly spaced over the chain (at most the steps)", DefaultValueFactory = _ => 10 }.Positive();
        var shareFrom = new Option<string?>("--share-from")
        {
            Description = "S[,S…]: one grid row per S of --count samples that share x_T and the noise of every step at a 0-based timestep ≥ S, "
                + "then go on with their own noise (Fig. 7 of the paper; S = T shares x_T only)",
        };
        var shard = new Option<string?>("--shard")
        {
            Description = "I/N: write only shard I of N of the --count images (a contiguous range of indices) into --out-dir, named by global index, so N machines split one run",
        };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var imageSize = new Option<int?>("--image-size") { Description = "Image size of a pesser .ckpt checkpoint, which does not record it (default 32 for RGB, 28 for grey); replaces a diffusers sample_size" }.PositiveOrNull();
        var device = CommonOptions.DeviceOption();
        var command = new Command("sample", "Generate images from a trained model (EMA weights by default).")
        {
            checkpoint, count, batchSize, seed, output, outDir, raw, scale, progressive, frames, shareFrom, precision, shard, device, imageSize,
        };
        samplerOptions.AddTo(command);
        var conditioningOptions = new ConditioningOptions();
        conditioningOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var on = CommonOptions.ParseDevice(parse.GetValue(device)!);
            var gridPath = parse.GetValue(output);
            var directory = parse.GetValue(outDir);
            var part = parse.GetValue(shard) is { } shardText ? Shard.Parse(shardText) : null;
            var progressivePath = parse.GetValue(progressive);
            var shareText = parse.GetValue(shareFrom);
            if (part is not null && (directory is null || gridPath is not null || progressivePath is not null || shareText is not null))
                throw new ArgumentException("--shard writes single PNGs: give --out-dir and neither --out, --progressive nor --share-from.");
            if (shareText is not null && (directory is not null || progressivePath is not null))
                throw new ArgumentException("--share-from writes one grid (--out): give neither --out-dir nor --progressive.");
            if (gridPath is null && directory is null) gridPath = "samples.png";
            if (gridPath is not null && !gridPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--out must name a .png file (got {gridPath}).");
            var gifPath = progressivePath is not null && progressivePath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase) ? progressivePath : null;
            var chainDirectory = progressivePath is not null && gifPath is null ? progressivePath : null;

            if (gridPath is not null) OutputPaths.EnsureWritableFile(gridPath);
            if (directory is not null) OutputPaths.EnsureWritableDirectory(directory);
            if (gifPath is not null) OutputPaths.EnsureWritableFile(gifPath);
            if (chainDirectory is not null) OutputPaths.EnsureWritableDirectory(chainDirectory);
            using var model = DiffusionModel.Load(parse.GetValue(checkpoint)!, preferEma: !parse.GetValue(raw),
                parse.GetValue(precision) == "bf16" ? Ddpm.Training.Precision.Bf16 : Ddpm.Training.Precision.Fp32, on,
                new Ddpm.Interop.ImportOptions { ImageSize = parse.GetValue(imageSize) });
            // Fig. 7 parts chains by their noise, so --share-from defaults to Algorithm 2 and refuses the deterministic samplers.
            var settings = samplerOptions.Get(parse, shareText is null ? null : SamplerSettings.Ddpm());
            if (shareText is not null && !settings.IsStochastic)
                throw new ArgumentException($"--share-from needs a sampler that draws noise at every step: ddpm (the default with --share-from) or ddim with --eta > 0 (got {settings.DisplayName}).");
            var total = parse.GetValue(count);
            var guidance = parse.GetValue(conditioningOptions.Guidance);
            if (!model.IsClassConditional && guidance != 1) throw new ArgumentException("--guidance needs a class-conditional model (ddpm train --class-cond); this one is unconditional.");
            var allClasses = conditioningOptions.IsAll(parse) && model.IsClassConditional;
            // --class all: --count images of every class, one grid row each.
            var perClass = total;
            if (allClasses) total = checked(perClass * model.ClassNames.Count);
            var first = (part ?? Shard.Whole).First(total);
            var n = (part ?? Shard.Whole).Length(total);
            var labels = conditioningOptions.Labels(parse, model.ClassNames, first, n, perClass);
            if (n == 0)
            {
                Console.WriteLine($"Shard {part} of {total} images is empty.");
                return CliErrors.Ok;
            }
            var batch = parse.GetValue(batchSize);
            var stepCount = settings.StepCount(model.Diffusion.Timesteps);
            var options = new GridOptions { Scale = parse.GetValue(scale), Columns = allClasses ? perClass : null };
            if (shareText is not null)
            {
                var depths = ParseShareFrom(shareText, model.Diffusion.Timesteps);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Sampling {depths.Count} rows of {n} images sharing their trajectory down to timestep {string.Join(", ", depths)} with {settings.DisplayName} ({stepCount} steps) from {model.CheckpointDirectory}"));
                using var rows = ProgressDisplay.Run("sample", depths.Count, sink =>
                {
                    var parts = depths.Select((depth, row) => model.Sample(n, settings, parse.GetValue(seed), batch,
                        new SamplingReporter(sink, n, row), shareFrom: depth, labels: labels, guidance: guidance)).ToList();
                    try
                    {
                        return torch.cat(parts, 0);
                    }
                    finally
                    {
                        foreach (var p in parts) p.Dispose();
                    }
                });
                ImageGrid.SavePng(rows, gridPath!, options with { Columns = n });
                Console.WriteLine($"Grid: {Path.GetFullPath(gridPath!)} (one row per timestep {string.Join(", ", depths)})");
                return CliErrors.Ok;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Sampling {n} images{(part is null ? "" : $" (shard {part}: images {first}..{first + n - 1} of {total})")} with {settings.DisplayName} ({stepCount} steps){ClassText(parse, conditioningOptions, model, guidance)} from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)"));

            using var recorder = progressivePath is null ? null
                : new ChainRecorder(stepCount, parse.GetValue(frames), maxImages: gifPath is null ? null : GifImages);
            Action<PredictedStartEvent>? onX0 = recorder is null ? null : recorder.Record;
            var images = ProgressDisplay.Run("sample", 1.0, sink =>
                model.Sample(n, settings, parse.GetValue(seed), batch, new SamplingReporter(sink, n), onX0, first, labels: labels, guidance: guidance));
            using (images)
            {
                if (gridPath is not null)
                {
                    ImageGrid.SavePng(images, gridPath, options);
                    Console.WriteLine($"Grid: {Path.GetFullPath(gridPath)}");
                }
                if (directory is not null)
                {
                    var files = ImageFiles.SaveEach(images, directory, startIndex: checked((int)first));
                    Console.WriteLine($"Images: {files.Count} PNG files in {Path.GetFullPath(directory)}");
                }
                if (gifPath is not null)
                {
                    SaveGif(recorder!.PredictedStartFrames(), gifPath, options with { Columns = GifColumns });
                    Console.WriteLine($"Progressive generation: {Path.GetFullPath(gifPath)}");
                }
                if (chainDirectory is not null)
                {
                    SaveChain(recorder!, chainDirectory, options);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"Progressive generation: {Path.GetFullPath(chainDirectory)} ({StripsFile}, {n} × {StripPrefix}-NNNNN.png of {recorder!.StripSteps.Count} frames at steps {string.Join(", ", recorder.StripSteps)}; {SamplesGif}, {PredictedStartGif})"));
                }
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>The grid of every image's strip in a --progressive folder, one row per image.</summary>
    public const string StripsFile = "strips.png";

    /// <summary>Each image's strip in a --progressive folder is <c>strip-NNNNN.png</c>.</summary>
    public const string StripPrefix = "strip";

    /// <summary>The animation of x_t over the chain in a --progressive folder.</summary>
    public const string SamplesGif = "xt.gif";

    /// <summary>The animation of x̂0 over the chain in a --progressive folder.</summary>
    public const string PredictedStartGif = "x0.gif";

    /// <summary>Images in a --progressive .gif, as before folders were accepted.</summary>
    private const int GifImages = 16;

    /// <summary>Columns of the grid of a --progressive .gif.</summary>
    private const int GifColumns = 4;

    /// <summary>Milliseconds per frame of the animations.</summary>
    private const int GifDelayMs = 80;

    /// <summary>The --share-from timesteps: comma-separated integers in 0..T.</summary>
    internal static IReadOnlyList<int> ParseShareFrom(string text, int timesteps)
    {
        var values = new List<int>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > timesteps)
                throw new ArgumentException($"--share-from takes timesteps in 0..{timesteps}, comma-separated (got '{item}' in '{text}').");
            values.Add(value);
        }
        return values;
    }

    private static void SaveChain(ChainRecorder recorder, string directory, GridOptions options)
    {
        using var strips = recorder.Strips();
        var frameCount = recorder.StripSteps.Count;
        for (var i = 0; i < strips.shape[0]; i++)
        {
            using var strip = strips[i];
            ImageGrid.SavePng(strip, Path.Combine(directory, ImageFiles.FileName(StripPrefix, i)), options with { Columns = frameCount });
        }
        using (var all = strips.flatten(0, 1)) ImageGrid.SavePng(all, Path.Combine(directory, StripsFile), options with { Columns = frameCount });
        SaveGif(recorder.SampleFrames(), Path.Combine(directory, SamplesGif), options);
        SaveGif(recorder.PredictedStartFrames(), Path.Combine(directory, PredictedStartGif), options);
    }

    /// <summary>Writes the frames (each a batch tiled as a grid) as a GIF and disposes them.</summary>
    private static void SaveGif(IReadOnlyList<Tensor> frames, string path, GridOptions grid)
    {
        try
        {
            Gif.Save(frames, path, new GifOptions { DelayMs = GifDelayMs, Grid = grid });
        }
        finally
        {
            foreach (var f in frames) f.Dispose();
        }
    }

    /// <summary>", class X, guidance W" for a class-conditional model, empty otherwise.</summary>
    private static string ClassText(ParseResult parse, ConditioningOptions options, DiffusionModel model, double guidance)
    {
        if (!model.IsClassConditional) return "";
        var text = parse.GetValue(options.Class);
        var classes = text is null ? "the classes in turn" : options.IsAll(parse) ? "every class" : $"class {model.ClassNames[ConditioningOptions.Parse(text, model.ClassNames)]}";
        return string.Create(CultureInfo.InvariantCulture, $", {classes}, guidance {guidance:0.###}");
    }
}
