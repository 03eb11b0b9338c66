using System.CommandLine;
using System.Globalization;
using System.Text;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Imaging;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm nll</c>: the variational bound (Eq. 5) in bits/dim over a data set's images, every term evaluated.</summary>
internal static class NllCommand
{
    /// <summary>Per-timestep terms: t, mean term in bits/dim, mean MSE of ε̂, mean MSE of x̂0.</summary>
    public const string TermsCsv = "nll-terms.csv";

    /// <summary>The plot of the per-timestep terms.</summary>
    public const string TermsPlot = "nll-terms.png";

    /// <summary>Per-image bounds: index, prior, diffusion, decoder, total.</summary>
    public const string ImagesCsv = "nll-images.csv";

    /// <summary>The printed summary.</summary>
    public const string SummaryFile = "nll.txt";

    /// <summary>The folder of finished batches that makes a rerun continue.</summary>
    public const string PartialFolder = "partial";

    public static Command Create()
    {
        var bound = new BoundOptions(defaultCount: 256, "Do not clip the predicted x̂0 to [-1, 1] in μθ");
        var output = new Option<string?>("--out") { Description = "Folder for the CSV files, the plot and partial results (a rerun continues); without it, only print" };
        var command = new Command("nll", "Evaluate the variational bound on the negative log-likelihood in bits/dim (all T terms per image).") { output };
        bound.AddTo(command);
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var outDir = parse.GetValue(output);
            if (outDir is not null) OutputPaths.EnsureWritableDirectory(outDir);
            var bf16 = bound.IsBf16(parse);
            using var model = bound.LoadModel(parse);
            var kind = DatasetNames.Parse(parse.GetValue(bound.Dataset)!);
            var split = parse.GetValue(bound.Split)!;
            var images = bound.OpenImages(parse, model);
            var settings = bound.Settings(parse);
            var description = string.Create(CultureInfo.InvariantCulture,
                $"{settings.Count} {images.Name} {split} images, {model.Diffusion.Timesteps} terms each, seed {settings.Seed}");
            Console.WriteLine($"Bound on {description}, from {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights)");

            BoundBatchFiles? store = null;
            if (outDir is not null)
            {
                store = new BoundBatchFiles(Path.Combine(outDir, PartialFolder), new Dictionary<string, string>
                {
                    ["checkpoint"] = Path.GetFullPath(model.CheckpointDirectory),
                    ["weights"] = model.UsesEma ? "ema" : "raw",
                    ["precision"] = bf16 ? "bf16" : "fp32",
                    ["dataset"] = images.Name,
                    ["data"] = Path.GetFullPath(parse.GetValue(bound.Data) ?? (kind == DatasetKind.FashionMnist ? DataDefaults.FashionMnistPath : ".")),
                    ["split"] = split,
                    ["count"] = settings.Count.ToString(CultureInfo.InvariantCulture),
                    ["seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
                    ["batch_size"] = settings.BatchSize.ToString(CultureInfo.InvariantCulture),
                    ["clip_denoised"] = settings.ClipDenoised ? "true" : "false",
                });
                if (store.Count > 0) Console.WriteLine($"Continuing: {store.Count} finished batch(es) in {Path.GetFullPath(Path.Combine(outDir, PartialFolder))}");
            }

            var estimator = new LikelihoodEstimator(model.Diffusion, model.Predict, model.Device);
            var result = ProgressDisplay.Run("nll", settings.Count, sink =>
                estimator.Evaluate(images, settings, new Reporter(sink), store));

            var summary = Summary(result, description);
            Console.Write(summary);
            if (outDir is not null)
            {
                AtomicFile.WriteAllBytes(Path.Combine(outDir, SummaryFile), Encoding.UTF8.GetBytes(summary));
                AtomicFile.WriteAllBytes(Path.Combine(outDir, TermsCsv), Encoding.UTF8.GetBytes(TermsTable(result)));
                AtomicFile.WriteAllBytes(Path.Combine(outDir, ImagesCsv), Encoding.UTF8.GetBytes(ImagesTable(result)));
                Plots.BoundTerms(result.TermMeans, Path.Combine(outDir, TermsPlot), $"Bound terms, {description}");
                Console.WriteLine($"Terms: {Path.GetFullPath(Path.Combine(outDir, TermsCsv))}, plot {TermsPlot}, per image {ImagesCsv}");
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    private static string Summary(LikelihoodResult r, string description) => string.Create(CultureInfo.InvariantCulture,
        $"""
        NLL ≤ {r.Mean:F2} bits/dim ± {r.StandardError:F2} (standard error; {description})
          prior      L_T              {r.Prior:E2} bits/dim
          diffusion  Σ L_t-1, t ≥ 2   {r.Diffusion:F4} bits/dim
          decoder    L_0              {r.Decoder:F4} bits/dim
          total                       {r.Mean:F4} bits/dim

        """);

    private static string TermsTable(LikelihoodResult r)
    {
        var text = new StringBuilder("t,term_bits_per_dim,eps_mse,x0_mse\n");
        for (var t = 0; t < r.TermMeans.Length; t++)
            text.Append(CultureInfo.InvariantCulture, $"{t},{r.TermMeans[t]:R},{r.NoiseMse[t]:R},{r.StartMse[t]:R}\n");
        return text.ToString();
    }

    private static string ImagesTable(LikelihoodResult r)
    {
        var text = new StringBuilder("index,prior_bits_per_dim,diffusion_bits_per_dim,decoder_bits_per_dim,total_bits_per_dim\n");
        foreach (var i in r.Images)
            text.Append(CultureInfo.InvariantCulture, $"{i.Index},{i.Prior:R},{i.Diffusion:R},{i.Decoder:R},{i.Total:R}\n");
        return text.ToString();
    }

    /// <summary>Shows a bound's evaluation (also <c>ddpm rate-distortion</c>'s) on the progress bar.</summary>
    internal sealed class Reporter(IProgressSink sink) : IProgress<LikelihoodProgress>
    {
        public void Report(LikelihoodProgress p) => sink.Update(p.ImagesEquivalent, string.Create(CultureInfo.InvariantCulture,
            $"batch {p.Batch + 1}/{p.Batches} term {p.TermsDone}/{p.Terms} ({p.Images} images)"));
    }
}
