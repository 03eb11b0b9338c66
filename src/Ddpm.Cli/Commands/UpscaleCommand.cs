using System.CommandLine;
using System.Globalization;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm upscale</c>: super-resolution with an SR3 model (<c>ddpm train --task super-resolution</c>).</summary>
internal static class UpscaleCommand
{
    public static Command Create()
    {
        var shared = new ImageToImageOptions("upscale.png");
        var extractor = new Option<string?>("--extractor") { Description = "Classifier for the accuracy on the results (default: the committed one for 28×28 grey data)" };
        var command = new Command("upscale",
            "Super-resolution (SR3): generate a high-resolution image given the bicubically upsampled low-resolution one. A full-size source is reduced first and the result measured against it (PSNR, SSIM, consistency, classifier accuracy), beside bicubic upsampling.")
        {
            extractor,
        };
        shared.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            shared.CheckOutputs(parse);
            using var model = shared.LoadModel(parse);
            var conditioning = model.Config.Conditioning;
            if (conditioning.Task != ConditioningTask.SuperResolution)
                throw new ArgumentException($"{model.CheckpointDirectory} is not a super-resolution model (train one with ddpm train --task super-resolution).");
            var m = model.Config.Model;
            var scale = conditioning.Scale;
            var source = parse.GetValue(shared.Image)!;
            using var scope = NewDisposeScope();
            // A file of the low resolution is the input itself; a full-size file or a data set's images are the truth, reduced first.
            Tensor? originals = null;
            Tensor low;
            IReadOnlyList<int>? labels = null;
            var names = new List<string>();
            if (File.Exists(source) && ImageFiles.Load(source, m.InChannels) is var file && file.shape[1] == m.ImageSize / scale && file.shape[2] == m.ImageSize / scale)
            {
                low = file.unsqueeze(0);
                names.Add(source);
            }
            else
            {
                using var sources = shared.LoadSources(parse, model);
                originals = sources.Images.clone();
                labels = sources.Labels;
                names.AddRange(sources.Names);
                low = SuperResolution.Downsample(originals, scale);
            }
            var bicubic = SuperResolution.Upsample(low, m.ImageSize);
            var count = parse.GetValue(shared.Count);
            var settings = shared.Sampler.Get(parse);
            var request = shared.Request(parse, model, names.Count) with { ConditionImage = ImageToImageOptions.PerResult(bicubic, count) };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Upscaling {names.Count} image(s) × {count} from {m.ImageSize / scale}×{m.ImageSize / scale} to {m.ImageSize}×{m.ImageSize} with {settings.DisplayName} ({settings.StepCount(model.Diffusion.Timesteps)} steps) from {model.CheckpointDirectory}"));
            var results = ImageToImageOptions.Run("upscale", model, request, settings).cpu();

            var metrics = new Dictionary<string, object?>
            {
                ["sources"] = source,
                ["images"] = names.Count,
                ["results_per_image"] = count,
                ["scale"] = scale,
                ["sampler"] = settings.DisplayName,
                ["steps"] = settings.StepCount(model.Diffusion.Timesteps),
            };
            var lowPerResult = ImageToImageOptions.PerResult(low, count);
            var consistency = ImageQuality.MeanSquaredError(SuperResolution.Downsample(results, scale), lowPerResult).Select(Math.Sqrt).ToArray();
            var consistencyMean = ImageToImageOptions.Record(metrics, "consistency_rmse", consistency);
            Console.WriteLine($"Consistency (RMSE of the result reduced again against the input, pixels in [−1, 1]): {consistencyMean.ToString("F4")}");
            var nearest = nn.functional.interpolate(low, [m.ImageSize, m.ImageSize], mode: InterpolationMode.Nearest);
            if (originals is not null)
            {
                var truth = ImageToImageOptions.PerResult(originals, count);
                var psnr = ImageQuality.PeakSignalToNoiseRatio(results, truth);
                var ssim = ImageQuality.StructuralSimilarity(results, truth);
                var psnrBicubic = ImageQuality.PeakSignalToNoiseRatio(bicubic, originals);
                var ssimBicubic = ImageQuality.StructuralSimilarity(bicubic, originals);
                var psnrMean = ImageToImageOptions.Record(metrics, "psnr", psnr);
                var ssimMean = ImageToImageOptions.Record(metrics, "ssim", ssim);
                var psnrBicubicMean = ImageToImageOptions.Record(metrics, "psnr_bicubic", psnrBicubic);
                var ssimBicubicMean = ImageToImageOptions.Record(metrics, "ssim_bicubic", ssimBicubic);
                Console.WriteLine($"PSNR (dB): SR3 {psnrMean.ToString("F2")}, bicubic {psnrBicubicMean.ToString("F2")}");
                Console.WriteLine($"SSIM:      SR3 {ssimMean.ToString("F4")}, bicubic {ssimBicubicMean.ToString("F4")}");
                if (labels is not null)
                {
                    using var classifier = parse.GetValue(extractor) is { } ex ? FeatureExtractors.Load(ex) : FeatureExtractors.DefaultFor(m.InChannels, m.ImageSize, m.ImageSize);
                    if (classifier.ClassCount is not null)
                    {
                        var truthLabels = labels.SelectMany(l => Enumerable.Repeat(l, count)).ToArray();
                        metrics["accuracy"] = Accuracy(classifier, results, truthLabels);
                        metrics["accuracy_bicubic"] = Accuracy(classifier, bicubic, [.. labels]);
                        metrics["accuracy_originals"] = Accuracy(classifier, originals, [.. labels]);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"Classifier accuracy: SR3 {metrics["accuracy"]:P1}, bicubic {metrics["accuracy_bicubic"]:P1}, originals {metrics["accuracy_originals"]:P1}"));
                    }
                }
                shared.Write(parse, [nearest, bicubic, originals], results, metrics);
            }
            else
            {
                shared.Write(parse, [nearest, bicubic], results, metrics);
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    /// <summary>The share of <paramref name="images"/> whose most probable class is their label (<see cref="EvaluationRun.ClassAccuracy"/>).</summary>
    internal static double Accuracy(IFeatureExtractor classifier, Tensor images, IReadOnlyList<int> labels)
    {
        const int Batch = 256;
        var batches = Enumerable.Range(0, (labels.Count + Batch - 1) / Batch)
            .Select(b => images.narrow(0, (long)b * Batch, Math.Min(Batch, labels.Count - b * Batch)));
        return EvaluationRun.ClassAccuracy(FeatureSet.Compute(classifier, batches), labels.Select(l => (long)l));
    }
}
