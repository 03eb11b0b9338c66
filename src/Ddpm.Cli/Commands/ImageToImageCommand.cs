using System.CommandLine;
using System.Globalization;
using Ddpm.Evaluation;
using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm img2img</c>: SDEdit (Meng et al. 2022): noise an image part of the way and run the reverse chain from there.</summary>
internal static class ImageToImageCommand
{
    public static Command Create()
    {
        var shared = new ImageToImageOptions("img2img.png");
        var strength = new Option<double>("--strength") { Description = "S in [0, 1]: noise to step ⌊S·T⌋ and denoise from there (0 returns the image, 1 ignores it)", DefaultValueFactory = _ => 0.5 };
        var command = new Command("img2img", "SDEdit (Meng et al. 2022): noise images to step ⌊S·T⌋ with q(x_t | x_0) and run the reverse chain from there, with any sampler.")
        {
            strength,
        };
        shared.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var s = parse.GetValue(strength);
            if (!(s >= 0 && s <= 1)) throw new ArgumentException($"--strength must lie in [0, 1] (got {s}).");
            shared.CheckOutputs(parse);
            using var model = shared.LoadModel(parse);
            using var sources = shared.LoadSources(parse, model);
            var settings = shared.Sampler.Get(parse);
            var count = parse.GetValue(shared.Count);
            using var scope = NewDisposeScope();
            var start = ImageToImageOptions.PerResult(sources.Images, count);
            var timestep = SampleRequest.StrengthTimestep(s, model.Diffusion.Timesteps);
            var request = shared.Request(parse, model, sources.Count) with { Start = start, StartTimestep = timestep };
            var sampler = settings.Create(model.Diffusion);
            var calls = sampler.Timesteps.Count(t => t <= timestep);
            (sampler as IDisposable)?.Dispose();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"SDEdit at strength {s:0.###} (from timestep {timestep + 1} of {model.Diffusion.Timesteps}) of {sources.Count} image(s) × {count} with {settings.DisplayName} ({calls} model calls) from {model.CheckpointDirectory}"));
            var results = ImageToImageOptions.Run("img2img", model, request, settings);
            var rmse = ImageQuality.MeanSquaredError(results, start).Select(Math.Sqrt).ToArray();
            var metrics = new Dictionary<string, object?>
            {
                ["sources"] = parse.GetValue(shared.Image),
                ["images"] = sources.Count,
                ["results_per_image"] = count,
                ["sampler"] = settings.DisplayName,
                ["strength"] = s,
                ["start_timestep"] = timestep,
                ["model_calls_per_image"] = calls,
            };
            Console.WriteLine($"RMSE to the source (pixels in [−1, 1]): {ImageToImageOptions.Record(metrics, "rmse_to_source", rmse).ToString("F4")}");
            shared.Write(parse, [sources.Images], results, metrics);
            return CliErrors.Ok;
        }));
        return command;
    }
}
