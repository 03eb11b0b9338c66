using System.CommandLine;
using System.Globalization;
using Ddpm.Analysis;
using Ddpm.Data;
using Ddpm.Imaging;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm interpolate</c>: two images mixed in the diffusion's latent space at depth t and decoded (Fig. 8 of the paper).</summary>
internal static class InterpolateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder", Required = true };
        const string sourceHelp = "an image file of the model's size, or DATASET:SPLIT:INDEX such as fashion-mnist:test:0";
        var a = new Option<string>("--a") { Description = "The left source (λ = 0): " + sourceHelp, Required = true };
        var b = new Option<string>("--b") { Description = "The right source (λ = 1): " + sourceHelp, Required = true };
        var depth = new Option<string>("--t") { Description = "Diffusion depth, a 0-based timestep, or several comma-separated (one row each)", DefaultValueFactory = _ => "500" };
        var count = new Option<int>("--count") { Description = "Decoded images per row, both ends included (λ = 0, 1/(count−1), …, 1)", DefaultValueFactory = _ => 11 };
        count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 2) r.AddError($"--count must be at least 2 (got {r.GetValueOrDefault<int>()}).");
        });
        var seed = new Option<long>("--seed") { Description = "Seed of the forward noise (shared by both sources) and of the reverse noise (shared by every λ)", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "The PNG to write", DefaultValueFactory = _ => "interpolation.png" };
        var data = new Option<string?>("--data") { Description = "Where the data set of a DATASET:SPLIT:INDEX source is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };
        var scale = new Option<int>("--scale") { Description = "Upscale factor of the picture (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();
        var raw = new Option<bool>("--raw") { Description = "Use the raw weights instead of the EMA weights" };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute for the network", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var device = CommonOptions.DeviceOption();
        var command = new Command("interpolate",
            "Interpolate two images in latent space: diffuse both to step t with the same noise, mix the two x_t linearly, decode each mixture with the reverse process.")
        {
            checkpoint, a, b, depth, count, seed, output, data, scale, raw, precision, device,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var outPath = parse.GetValue(output)!;
            if (!outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--out must name a .png file (got {outPath}).");
            OutputPaths.EnsureWritableFile(outPath);
            using var model = DiffusionModel.Load(parse.GetValue(checkpoint)!, preferEma: !parse.GetValue(raw),
                parse.GetValue(precision) == "bf16" ? Precision.Bf16 : Precision.Fp32, CommonOptions.ParseDevice(parse.GetValue(device)!));
            var timesteps = ParseTimesteps(parse.GetValue(depth)!, model.Diffusion.Timesteps);
            var m = model.Config.Model;
            using var first = ImageSource.Load(parse.GetValue(a)!, m.InChannels, m.ImageSize, parse.GetValue(data));
            using var second = ImageSource.Load(parse.GetValue(b)!, m.InChannels, m.ImageSize, parse.GetValue(data));
            var n = parse.GetValue(count);
            var s = parse.GetValue(seed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Interpolating at t = {string.Join(", ", timesteps)}: {n} images per row, seed {s}, from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)"));

            var interpolation = new Interpolation(model.Diffusion, model.Predict, model.Device);
            var total = timesteps.Sum(t => t + 1.0);
            using var picture = ProgressDisplay.Run("interpolate", total, sink =>
            {
                using var scope = NewDisposeScope();
                var done = 0.0;
                var rows = new List<Tensor>();
                foreach (var t in timesteps)
                {
                    var start = done;
                    var decoded = interpolation.Interpolate(first, second, t, n, s,
                        new Progress(k => sink.Update(start + k, string.Create(CultureInfo.InvariantCulture, $"t = {t}: step {k}/{t + 1}"))));
                    done += t + 1;
                    rows.Add(cat([first.unsqueeze(0), decoded.cpu(), second.unsqueeze(0)], 0));
                }
                return cat(rows, 0).MoveToOuterDisposeScope();
            });
            ImageGrid.SavePng(picture, outPath, new GridOptions { Columns = n + 2, Scale = parse.GetValue(scale) });
            Console.WriteLine($"Interpolation: {Path.GetFullPath(outPath)} (one row per t; the sources at the ends)");
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>Comma-separated 0-based timesteps in 0..T−1.</summary>
    private static int[] ParseTimesteps(string text, int timesteps) =>
    [
        .. text.Split(',', StringSplitOptions.TrimEntries).Select(item =>
            int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t < timesteps
                ? t
                : throw new ArgumentException($"--t takes 0-based timesteps in 0..{timesteps - 1}, comma-separated (got '{item}' in '{text}').")),
    ];

    /// <summary>Reports synchronously (System.Progress would post to a thread pool).</summary>
    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
