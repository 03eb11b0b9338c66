using System.CommandLine;
using System.Globalization;
using Ddpm.Imaging;
using Ddpm.Sampling;
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
        var samplerOptions = new SamplerOptions("ddpm");
        var seed = new Option<long>("--seed") { Description = "Seed; image i depends only on (seed, i)", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Write one PNG grid here (default samples.png unless --out-dir is given)" };
        var outDir = new Option<string?>("--out-dir") { Description = "Write one PNG per image into this folder" };
        var raw = new Option<bool>("--raw") { Description = "Use the raw weights instead of the EMA weights" };
        var scale = new Option<int>("--scale") { Description = "Upscale factor of the grid (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();
        var progressive = new Option<string?>("--progressive") { Description = "Also write an animated GIF of the predicted x̂0 over the steps (coarse to fine)" };
        var shard = new Option<string?>("--shard")
        {
            Description = "I/N: write only shard I of N of the --count images (a contiguous range of indices) into --out-dir, named by global index, so N machines split one run",
        };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var imageSize = new Option<int?>("--image-size") { Description = "Image size of a pesser .ckpt checkpoint, which does not record it (default 32 for RGB, 28 for grey); replaces a diffusers sample_size" }.PositiveOrNull();
        var device = CommonOptions.DeviceOption();
        var command = new Command("sample", "Generate images from a trained model (EMA weights by default).")
        {
            checkpoint, count, batchSize, seed, output, outDir, raw, scale, progressive, precision, shard, device, imageSize,
        };
        samplerOptions.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var on = CommonOptions.ParseDevice(parse.GetValue(device)!);
            var gridPath = parse.GetValue(output);
            var directory = parse.GetValue(outDir);
            var part = parse.GetValue(shard) is { } shardText ? Shard.Parse(shardText) : null;
            if (part is not null && (directory is null || gridPath is not null || parse.GetValue(progressive) is not null))
                throw new ArgumentException("--shard writes single PNGs: give --out-dir and neither --out nor --progressive.");
            if (gridPath is null && directory is null) gridPath = "samples.png";
            if (gridPath is not null && !gridPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--out must name a .png file (got {gridPath}).");
            var gifPath = parse.GetValue(progressive);
            if (gifPath is not null && !gifPath.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--progressive must name a .gif file (got {gifPath}).");

            if (gridPath is not null) OutputPaths.EnsureWritableFile(gridPath);
            if (directory is not null) OutputPaths.EnsureWritableDirectory(directory);
            if (gifPath is not null) OutputPaths.EnsureWritableFile(gifPath);
            using var model = DiffusionModel.Load(parse.GetValue(checkpoint)!, preferEma: !parse.GetValue(raw),
                parse.GetValue(precision) == "bf16" ? Ddpm.Training.Precision.Bf16 : Ddpm.Training.Precision.Fp32, on,
                new Ddpm.Interop.ImportOptions { ImageSize = parse.GetValue(imageSize) });
            var settings = samplerOptions.Get(parse);
            var total = parse.GetValue(count);
            var first = (part ?? Shard.Whole).First(total);
            var n = (part ?? Shard.Whole).Length(total);
            if (n == 0)
            {
                Console.WriteLine($"Shard {part} of {total} images is empty.");
                return CliErrors.Ok;
            }
            var batch = parse.GetValue(batchSize);
            var stepCount = settings.StepCount(model.Diffusion.Timesteps);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Sampling {n} images{(part is null ? "" : $" (shard {part}: images {first}..{first + n - 1} of {total})")} with {settings.DisplayName} ({stepCount} steps) from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)"));

            var frames = new List<Tensor>();
            var frameEvery = Math.Max(1, stepCount / 50);
            Action<PredictedStartEvent>? onX0 = gifPath is null ? null : e =>
            {
                if (e.FirstImage == 0 && (e.Step % frameEvery == 0 || e.Step == stepCount - 1))
                {
                    var grid = e.PredictedStart.narrow(0, 0, Math.Min(16, e.PredictedStart.shape[0])).clone().DetachFromDisposeScope();
                    frames.Add(grid);
                }
            };
            var images = ProgressDisplay.Run("sample", 1.0, sink =>
                model.Sample(n, settings, parse.GetValue(seed), batch, new SamplingReporter(sink, n), onX0, first));
            using (images)
            {
                var options = new GridOptions { Scale = parse.GetValue(scale) };
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
                    var gridFrames = frames.Select(f => (Tensor)ImageGrid.Compose(f, options with { Columns = 4 }).ToTensor()).ToList();
                    Gif.Save(gridFrames, gifPath, delayMs: 80);
                    foreach (var f in frames.Concat(gridFrames)) f.Dispose();
                    Console.WriteLine($"Progressive generation: {Path.GetFullPath(gifPath)}");
                }
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    private sealed class SamplingReporter(IProgressSink sink, int total) : IProgress<SamplingProgress>
    {
        public void Report(SamplingProgress p) =>
            sink.Update(p.Fraction, string.Create(CultureInfo.InvariantCulture, $"batch {p.Batch + 1}/{p.Batches} step {p.Step}/{p.Steps} ({total} images)"));
    }
}
