using System.CommandLine;
using System.Globalization;
using System.Text;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Imaging;
using Ddpm.Training;

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
        var checkpoint = new Option<string>("--checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "Data set: fashion-mnist, mnist, cifar10 or folder", DefaultValueFactory = _ => "fashion-mnist" }
            .OneOf([.. DatasetNames.All]);
        var data = new Option<string?>("--data") { Description = "Where the data set is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };
        var split = new Option<string>("--split") { Description = "test or train", DefaultValueFactory = _ => "test" }.OneOf("test", "train");
        var count = new Option<int>("--count") { Description = "Number of images (the first N of the split)", DefaultValueFactory = _ => 256 }.Positive();
        var seed = new Option<long>("--seed") { Description = "Seed of the forward draws; term t of image i depends only on (seed, i, t)", DefaultValueFactory = _ => 0 };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per model call (does not change any image's terms)", DefaultValueFactory = _ => 64 }.Positive();
        var output = new Option<string?>("--out") { Description = "Folder for the CSV files, the plot and partial results (a rerun continues); without it, only print" };
        var raw = new Option<bool>("--raw") { Description = "Use the raw weights instead of the EMA weights" };
        var noClip = new Option<bool>("--no-clip") { Description = "Do not clip the predicted x̂0 to [-1, 1] in μθ" };
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16 compute for the network", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");
        var device = CommonOptions.DeviceOption();
        var command = new Command("nll", "Evaluate the variational bound on the negative log-likelihood in bits/dim (all T terms per image).")
        {
            checkpoint, dataset, data, split, count, seed, batchSize, output, raw, noClip, precision, device,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var outDir = parse.GetValue(output);
            if (outDir is not null) OutputPaths.EnsureWritableDirectory(outDir);
            var bf16 = parse.GetValue(precision) == "bf16";
            using var model = DiffusionModel.Load(parse.GetValue(checkpoint)!, preferEma: !parse.GetValue(raw), bf16 ? Precision.Bf16 : Precision.Fp32,
                CommonOptions.ParseDevice(parse.GetValue(device)!));
            var kind = DatasetNames.Parse(parse.GetValue(dataset)!);
            var test = parse.GetValue(split) == "test";
            var m = model.Config.Model;
            var images = Datasets.Open(kind, parse.GetValue(data), m.ImageSize, train: !test, m.InChannels);
            var settings = new LikelihoodSettings
            {
                Count = parse.GetValue(count),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(batchSize),
                ClipDenoised = !parse.GetValue(noClip),
            }.Validate();
            var description = string.Create(CultureInfo.InvariantCulture,
                $"{settings.Count} {images.Name} {parse.GetValue(split)} images, {model.Diffusion.Timesteps} terms each, seed {settings.Seed}");
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
                    ["data"] = Path.GetFullPath(parse.GetValue(data) ?? (kind == DatasetKind.FashionMnist ? DataDefaults.FashionMnistPath : ".")),
                    ["split"] = parse.GetValue(split)!,
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
