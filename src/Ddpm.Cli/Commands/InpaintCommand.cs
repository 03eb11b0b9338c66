using System.CommandLine;
using System.Globalization;
using Ddpm.Conditioning;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm inpaint</c>: fills a masked region with an unconditional model (RePaint, or plain replacement).</summary>
internal static class InpaintCommand
{
    /// <summary>RePaint's setting for its main results (Lugmayr et al. 2022, §5): 250 steps, jumps of 10, 10 passes.</summary>
    public const int DefaultSteps = 250;

    public static Command Create()
    {
        var shared = new ImageToImageOptions("inpaint.png");
        var mask = new Option<string?>("--mask") { Description = "Mask image of the model's size: white (> mid-grey) where pixels are generated, black where they are kept" };
        var box = new Option<string?>("--mask-box") { Description = "x,y,w,h: generate this rectangle (pixels x..x+w−1, y..y+h−1), keep the rest" };
        var jump = new Option<int>("--jump-length") { Description = "RePaint's jump length j: steps gone back up the chain at each jump", DefaultValueFactory = _ => 10 }.Positive();
        var resample = new Option<int>("--resample") { Description = "RePaint's resampling r: passes over each stretch of the chain (1: the plain replacement method)", DefaultValueFactory = _ => 10 }.Positive();
        var command = new Command("inpaint",
            $"Fill the masked pixels of images with an unconditional model: RePaint's resampling (Lugmayr et al. 2022), or replacement with --resample 1. Default sampler: DDPM with {DefaultSteps} steps.")
        {
            mask, box, jump, resample,
        };
        shared.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            if ((parse.GetValue(mask) is null) == (parse.GetValue(box) is null)) throw new ArgumentException("give the region to fill: --mask FILE or --mask-box x,y,w,h (one of them).");
            shared.CheckOutputs(parse);
            using var model = shared.LoadModel(parse);
            var m = model.Config.Model;
            using var regionMask = parse.GetValue(mask) is { } file ? LoadMask(file, m.ImageSize) : BoxMask(parse.GetValue(box)!, m.ImageSize);
            using var sources = shared.LoadSources(parse, model);
            var settings = shared.Sampler.Get(parse, SamplerSettings.Ddpm(DefaultSteps));
            var count = parse.GetValue(shared.Count);
            using var scope = NewDisposeScope();
            var known = ImageToImageOptions.PerResult(sources.Images, count);
            var inpainting = new InpaintingRequest(known, regionMask) { JumpLength = parse.GetValue(jump), Resample = parse.GetValue(resample) };
            var request = shared.Request(parse, model, sources.Count) with { Inpainting = inpainting };
            var steps = settings.StepCount(model.Diffusion.Timesteps);
            var calls = RePaintSchedule.ModelCalls(RePaintSchedule.Walk(steps, inpainting.JumpLength, inpainting.Resample), steps);
            var fraction = regionMask.mean().item<float>();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Inpainting {fraction:P0} of {sources.Count} image(s) × {count} with {settings.DisplayName}, {(inpainting.Resample == 1 ? "replacement" : $"RePaint j = {inpainting.JumpLength}, r = {inpainting.Resample}")} ({calls} model calls each) from {model.CheckpointDirectory}"));
            var results = ImageToImageOptions.Run("inpaint", model, request, settings);

            // The error inside the region against the source (which is the truth when the source is a real image).
            var rmse = ImageQuality.MeanSquaredError(results, known, regionMask).Select(Math.Sqrt).ToArray();
            var metrics = new Dictionary<string, object?>
            {
                ["sources"] = parse.GetValue(shared.Image),
                ["images"] = sources.Count,
                ["results_per_image"] = count,
                ["sampler"] = settings.DisplayName,
                ["steps"] = steps,
                ["jump_length"] = inpainting.JumpLength,
                ["resample"] = inpainting.Resample,
                ["model_calls_per_image"] = calls,
                ["masked_fraction"] = fraction,
            };
            Console.WriteLine($"RMSE inside the mask (pixels in [−1, 1]): {ImageToImageOptions.Record(metrics, "rmse_inside_mask", rmse).ToString("F4")}");
            metrics["rmse_inside_mask_per_result"] = rmse;
            var masked = sources.Images * (1 - regionMask);
            shared.Write(parse, [sources.Images, masked], results, metrics);
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>A mask image: 1 where its grey value is above mid-grey. It must be <paramref name="size"/> × <paramref name="size"/>.</summary>
    private static Tensor LoadMask(string path, int size)
    {
        using var image = ImageFiles.Load(path, 1);
        if (image.shape[1] != size || image.shape[2] != size)
            throw new ArgumentException($"the mask '{path}' is {image.shape[2]}×{image.shape[1]} pixels; the model takes {size}×{size} images.");
        return image.gt(0).to(ScalarType.Float32).unsqueeze(0);
    }

    /// <summary>A rectangle x,y,w,h as a mask [1, 1, size, size].</summary>
    private static Tensor BoxMask(string text, int size)
    {
        var parts = text.Split(',');
        var values = new int[4];
        if (parts.Length != 4 || parts.Where((p, i) => !int.TryParse(p.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i])).Any())
            throw new ArgumentException($"--mask-box must be four integers x,y,w,h (got '{text}').");
        var (x, y, w, h) = (values[0], values[1], values[2], values[3]);
        if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > size || y + h > size)
            throw new ArgumentException($"--mask-box {text} is not a non-empty rectangle inside the {size}×{size} image.");
        var mask = zeros(1, 1, size, size);
        mask[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(y, y + h), TensorIndex.Slice(x, x + w)] = tensor(1f);
        return mask;
    }
}
