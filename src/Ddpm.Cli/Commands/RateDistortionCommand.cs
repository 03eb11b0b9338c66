using System.CommandLine;
using System.Globalization;
using System.Text;
using Ddpm.Analysis;
using Ddpm.Imaging;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm rate-distortion</c>: the reverse chain as a progressive lossy decoder (Fig. 5 of the paper).</summary>
internal static class RateDistortionCommand
{
    /// <summary>step, t, rate, distortion per reverse step.</summary>
    public const string CurveCsv = "rate-distortion.csv";

    /// <summary>The three panels of Fig. 5.</summary>
    public const string CurvePlot = "rate-distortion.png";

    /// <summary>x̂0 of the first images at several rates, one row per image, the original at the right.</summary>
    public const string ReconstructionsFile = "reconstructions.png";

    /// <summary>The printed summary, with the rate of each reconstruction column.</summary>
    public const string SummaryFile = "rate-distortion.txt";

    public static Command Create()
    {
        var bound = new BoundOptions(defaultCount: 64, "Do not clip the predicted x̂0 to [-1, 1] (in μθ and in the distortion)");
        var output = new Option<string>("--out") { Description = "Folder for the CSV, the plot, the reconstructions and the summary", DefaultValueFactory = _ => "rate-distortion" };
        var show = new Option<int>("--show") { Description = "Images whose reconstructions are shown (the first of the run)", DefaultValueFactory = _ => 8 }.Positive();
        var columns = new Option<int>("--columns") { Description = "Rates at which they are shown, evenly spaced over the reverse steps", DefaultValueFactory = _ => 10 }.Positive();
        var scale = new Option<int>("--scale") { Description = "Upscale factor of the reconstructions (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();
        var command = new Command("rate-distortion",
            "Progressive lossy compression: rate (bits/dim sent so far) and distortion (RMSE of x̂0 on [0, 255]) after every reverse step, on test images.")
        {
            output, show, columns, scale,
        };
        bound.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var outDir = parse.GetValue(output)!;
            OutputPaths.EnsureWritableDirectory(outDir);
            using var model = bound.LoadModel(parse);
            var images = bound.OpenImages(parse, model);
            var settings = new RateDistortionSettings
            {
                Bound = bound.Settings(parse),
                ReconstructionImages = parse.GetValue(show),
                ReconstructionSteps = parse.GetValue(columns),
            }.Validate();
            var description = string.Create(CultureInfo.InvariantCulture,
                $"{settings.Bound.Count} {images.Name} {parse.GetValue(bound.Split)} images, T = {model.Diffusion.Timesteps}, seed {settings.Bound.Seed}");
            Console.WriteLine($"Rate–distortion on {description}, from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)");

            var analysis = new RateDistortion(model.Diffusion, model.Predict, model.Device);
            using var result = ProgressDisplay.Run("rate-distortion", settings.Bound.Count, sink =>
                analysis.Evaluate(images, settings, new NllCommand.Reporter(sink)));

            var summary = Summary(result, description);
            Console.Write(summary);
            AtomicFile.WriteAllBytes(Path.Combine(outDir, SummaryFile), Encoding.UTF8.GetBytes(summary));
            AtomicFile.WriteAllBytes(Path.Combine(outDir, CurveCsv), Encoding.UTF8.GetBytes(CurveTable(result.Points)));
            Plots.RateDistortion([.. result.Points.Select(p => (double)p.Step)], [.. result.Points.Select(p => p.Rate)],
                [.. result.Points.Select(p => p.Distortion)], Path.Combine(outDir, CurvePlot), $"Rate–distortion, {description}");
            using (var scope = NewDisposeScope())
            {
                var rows = cat([result.Reconstructions, result.Originals.unsqueeze(1)], 1);
                ImageGrid.SavePng(rows.flatten(0, 1), Path.Combine(outDir, ReconstructionsFile),
                    new GridOptions { Columns = (int)rows.shape[1], Scale = parse.GetValue(scale) });
            }
            Console.WriteLine($"Curve: {Path.GetFullPath(Path.Combine(outDir, CurveCsv))}, plot {CurvePlot}, reconstructions {ReconstructionsFile}");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static string Summary(RateDistortionResult r, string description)
    {
        var end = r.Points[^1];
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"""
            At the end of the chain (t = 0): rate {end.Rate:F4} bits/dim, distortion {end.Distortion:F3} RMSE on [0, 255] ({description})
              the bound: {r.Bound.Mean:F4} bits/dim = rate {end.Rate:F4} + decoder L_0 {r.Bound.Decoder:F4}
              from x_T alone: distortion {r.Points[0].Distortion:F3}
            Reconstructions ({ReconstructionsFile}), columns left to right, then the original:

            """);
        for (var k = 0; k < r.ReconstructionTimesteps.Count; k++)
        {
            var p = r.At(r.ReconstructionTimesteps[k]);
            text.Append(CultureInfo.InvariantCulture, $"  column {k + 1,2}: t = {p.Timestep,5}, step {p.Step,5}, rate {p.Rate:F4} bits/dim, distortion {p.Distortion:F3}\n");
        }
        return text.ToString();
    }

    private static string CurveTable(IReadOnlyList<RateDistortionPoint> points)
    {
        var text = new StringBuilder("step,t,rate_bits_per_dim,distortion_rmse\n");
        foreach (var p in points) text.Append(CultureInfo.InvariantCulture, $"{p.Step},{p.Timestep},{p.Rate:R},{p.Distortion:R}\n");
        return text.ToString();
    }
}
