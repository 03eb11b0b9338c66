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
        var sampler = new Option<string>("--sampler") { Description = "ddpm (Algorithm 2) or ddim", DefaultValueFactory = _ => "ddpm" }.OneOf("ddpm", "ddim");
        var steps = new Option<int?>("--steps") { Description = "Sampling steps (default: T for ddpm, 50 for ddim)" }.PositiveOrNull();
        var eta = new Option<double>("--eta") { Description = "DDIM η: 0 deterministic, 1 DDPM-like", DefaultValueFactory = _ => 0.0 }.NonNegative();
        var spacing = new Option<string?>("--spacing") { Description = "Timestep spacing with fewer steps: leading, linspace or trailing" };
        spacing.AcceptOnlyFromAmong("leading", "linspace", "trailing");
        var seed = new Option<long>("--seed") { Description = "Seed; image i depends only on (seed, i)", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Write one PNG grid here (default samples.png unless --out-dir is given)" };
        var outDir = new Option<string?>("--out-dir") { Description = "Write one PNG per image into this folder" };
        var raw = new Option<bool>("--raw") { Description = "Use the raw weights instead of the EMA weights" };
        var scale = new Option<int>("--scale") { Description = "Upscale factor of the grid (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();
        var progressive = new Option<string?>("--progressive") { Description = "Also write an animated GIF of the predicted x̂0 over the steps (coarse to fine)" };
        var noClip = new Option<bool>("--no-clip") { Description = "Do not clip the predicted x̂0 to [-1, 1] at each step" };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var imageSize = new Option<int?>("--image-size") { Description = "Image size of a pesser .ckpt checkpoint, which does not record it (default 32 for RGB, 28 for grey); replaces a diffusers sample_size" }.PositiveOrNull();
        var command = new Command("sample", "Generate images from a trained model (EMA weights by default).")
        {
            checkpoint, count, batchSize, sampler, steps, eta, spacing, seed, output, outDir, raw, scale, progressive, noClip, precision, imageSize,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var gridPath = parse.GetValue(output);
            var directory = parse.GetValue(outDir);
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
                parse.GetValue(precision) == "bf16" ? Ddpm.Training.Precision.Bf16 : Ddpm.Training.Precision.Fp32,
                new Ddpm.Interop.ImportOptions { ImageSize = parse.GetValue(imageSize) });
            var settings = new SamplerSettings
            {
                Kind = parse.GetValue(sampler) == "ddim" ? SamplerKind.Ddim : SamplerKind.Ddpm,
                Steps = parse.GetValue(steps),
                Eta = parse.GetValue(eta),
                Spacing = parse.GetValue(spacing) switch
                {
                    "leading" => TimestepSpacing.Leading,
                    "linspace" => TimestepSpacing.Linspace,
                    "trailing" => TimestepSpacing.Trailing,
                    _ => null,
                },
                ClipDenoised = !parse.GetValue(noClip),
            };
            var n = parse.GetValue(count);
            var batch = parse.GetValue(batchSize);
            var stepCount = settings.Steps ?? (settings.Kind == SamplerKind.Ddim ? 50 : model.Diffusion.Timesteps);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Sampling {n} images with {settings.Kind.ToString().ToUpperInvariant()} ({stepCount} steps) from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)"));

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
                model.Sample(n, settings, parse.GetValue(seed), batch, new SamplingReporter(sink, n), onX0));
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
                    var files = ImageFiles.SaveEach(images, directory);
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
