using System.CommandLine;
using System.Text.Json;
using Ddpm.Data;
using Ddpm.Evaluation;
using Ddpm.Imaging;
using Ddpm.Sampling;
using Ddpm.Training;
using static TorchSharp.torch;

namespace Ddpm.Cli.Commands;

/// <summary>
/// What <c>ddpm inpaint</c>, <c>ddpm img2img</c> and <c>ddpm upscale</c> share: the model, the source images (a file,
/// <c>DATASET:SPLIT:INDEX</c> or a range <c>DATASET:SPLIT:FIRST-LAST</c>), samples per source, seed, batch size, the
/// sampler, and the outputs: a comparison picture (one row per source), optionally every result as a PNG and the
/// measurements as JSON.
/// </summary>
internal sealed class ImageToImageOptions(string picture)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public Option<string> Checkpoint { get; } = new("--checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder", Required = true };

    public Option<string> Image { get; } = new("--image")
    {
        Description = "Source: an image file of the model's size, DATASET:SPLIT:INDEX (fashion-mnist:test:0) or a range DATASET:SPLIT:FIRST-LAST (fashion-mnist:test:0-499)",
        Required = true,
    };

    public Option<string?> Data { get; } = new("--data") { Description = "Where the data set of a DATASET:SPLIT source is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };

    public Option<int> Count { get; } = new Option<int>("--count") { Description = "Results per source image (each with its own noise)", DefaultValueFactory = _ => 1 }.Positive();

    public Option<long> Seed { get; } = new("--seed") { Description = "Seed; result j (source j / count) depends only on (seed, j)", DefaultValueFactory = _ => 0 };

    public Option<int> BatchSize { get; } = new Option<int>("--batch-size") { Description = "Images per model call (does not change the images)", DefaultValueFactory = _ => 64 }.Positive();

    /// <summary>Sources shown in the comparison picture: the first 16.</summary>
    public const int PictureRows = 16;

    public Option<string> Output { get; } = new("--out") { Description = "The comparison picture (PNG): one row per source, the first 16", DefaultValueFactory = _ => picture };

    public Option<string?> OutDir { get; } = new("--out-dir") { Description = "Also write every result as a PNG into this folder (for ddpm eval --images)" };

    public Option<string?> Metrics { get; } = new("--metrics") { Description = "Write the measurements as JSON to this file" };

    public Option<int> Scale { get; } = new Option<int>("--scale") { Description = "Upscale factor of the comparison picture (nearest neighbour)", DefaultValueFactory = _ => 2 }.Positive();

    public Option<bool> Raw { get; } = new("--raw") { Description = "Use the raw weights instead of the EMA weights" };

    public Option<string> Precision { get; } = new Option<string>("--precision") { Description = "fp32 or bf16 compute", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");

    public Option<string> Device { get; } = CommonOptions.DeviceOption();

    public SamplerOptions Sampler { get; } = new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Checkpoint, Image, Data, Count, Seed, BatchSize, Output, OutDir, Metrics, Scale, Raw, Precision, Device })
            command.Options.Add(option);
        Sampler.AddTo(command);
    }

    /// <summary>Checks the output paths before any work.</summary>
    public void CheckOutputs(ParseResult parse)
    {
        var path = parse.GetValue(Output)!;
        if (!path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--out must name a .png file (got {path}).");
        OutputPaths.EnsureWritableFile(path);
        if (parse.GetValue(OutDir) is { } directory) OutputPaths.EnsureWritableDirectory(directory);
        if (parse.GetValue(Metrics) is { } metrics) OutputPaths.EnsureWritableFile(metrics);
    }

    public DiffusionModel LoadModel(ParseResult parse) => DiffusionModel.Load(parse.GetValue(Checkpoint)!, preferEma: !parse.GetValue(Raw),
        parse.GetValue(Precision) == "bf16" ? Training.Precision.Bf16 : Training.Precision.Fp32, CommonOptions.ParseDevice(parse.GetValue(Device)!));

    /// <summary>The sources at the model's size.</summary>
    public LoadedImages LoadSources(ParseResult parse, DiffusionModel model) =>
        ImageSource.LoadMany(parse.GetValue(Image)!, model.Config.Model.InChannels, model.Config.Model.ImageSize, parse.GetValue(Data));

    /// <summary>A request for <paramref name="sources"/> × <c>--count</c> results (source i's results are i·count … i·count + count − 1).</summary>
    public SampleRequest Request(ParseResult parse, DiffusionModel model, int sources)
    {
        var m = model.Config.Model;
        return new SampleRequest(sources * parse.GetValue(Count), m.InChannels, m.ImageSize, m.ImageSize, parse.GetValue(Seed), parse.GetValue(BatchSize));
    }

    /// <summary>Each source repeated <c>--count</c> times, in the order of the results.</summary>
    public static Tensor PerResult(Tensor sources, int count) => count == 1 ? sources.alias() : sources.repeat_interleave(count, 0);

    /// <summary>Runs the request with a progress bar.</summary>
    public static Tensor Run(string name, DiffusionModel model, SampleRequest request, SamplerSettings settings) =>
        ProgressDisplay.Run(name, 1.0, sink => model.Generate(request, settings, new SamplingReporter(sink, request.Count)));

    /// <summary>
    /// Writes the comparison picture (each source's <paramref name="columns"/>, then its results), every result into
    /// --out-dir, and the measurements into --metrics.
    /// </summary>
    public void Write(ParseResult parse, IReadOnlyList<Tensor> columns, Tensor results, IReadOnlyDictionary<string, object?> metrics)
    {
        var count = parse.GetValue(Count);
        var sources = Math.Min((int)columns[0].shape[0], PictureRows);
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        for (var i = 0; i < sources; i++)
        {
            foreach (var column in columns) rows.Add(column.narrow(0, i, 1).cpu());
            rows.Add(results.narrow(0, i * count, count).cpu());
        }
        var path = parse.GetValue(Output)!;
        ImageGrid.SavePng(cat(rows, 0), path, new GridOptions { Columns = columns.Count + count, Scale = parse.GetValue(Scale) });
        Console.WriteLine($"Picture: {Path.GetFullPath(path)} (one row per source{(sources < columns[0].shape[0] ? $", the first {sources}" : "")}: {columns.Count} reference column(s), then {count} result(s))");
        if (parse.GetValue(OutDir) is { } directory)
        {
            var files = ImageFiles.SaveEach(results.cpu(), directory);
            Console.WriteLine($"Images: {files.Count} PNG files in {Path.GetFullPath(directory)}");
        }
        if (parse.GetValue(Metrics) is { } file)
        {
            var json = JsonSerializer.Serialize(metrics, Indented);
            AtomicFile.WriteAllBytes(file, System.Text.Encoding.UTF8.GetBytes(json + "\n"));
            Console.WriteLine($"Measurements: {Path.GetFullPath(file)}");
        }
    }

    /// <summary>
    /// Records the mean of per-result <paramref name="values"/> in <paramref name="metrics"/> as <paramref name="key"/>,
    /// its standard error as <paramref name="key"/>_standard_error, and returns the estimate for printing.
    /// </summary>
    public static MeanEstimate Record(IDictionary<string, object?> metrics, string key, IReadOnlyList<double> values)
    {
        var estimate = MeanEstimate.Of(values);
        metrics[key] = estimate.Mean;
        metrics[key + "_standard_error"] = estimate.StandardError;
        return estimate;
    }
}
