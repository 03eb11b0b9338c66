using System.CommandLine;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Training;

namespace Ddpm.Cli.Commands;

/// <summary>
/// The options shared by the commands that evaluate the bound on a data set's images, <c>ddpm nll</c> and
/// <c>ddpm rate-distortion</c>: the model, the images, the forward draws' seed, the batch size and x̂_0's clipping.
/// </summary>
internal sealed class BoundOptions
{
    /// <summary>Options whose <c>--count</c> defaults to <paramref name="defaultCount"/>; <paramref name="noClipDescription"/> says what --no-clip changes.</summary>
    public BoundOptions(int defaultCount, string noClipDescription)
    {
        Count = new Option<int>("--count") { Description = "Number of images (the first N of the split)", DefaultValueFactory = _ => defaultCount }.Positive();
        NoClip = new Option<bool>("--no-clip") { Description = noClipDescription };
    }

    public Option<string> Checkpoint { get; } = new("--checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder", Required = true };

    public Option<string> Dataset { get; } = new Option<string>("--dataset") { Description = "Data set: fashion-mnist, mnist, cifar10 or folder", DefaultValueFactory = _ => "fashion-mnist" }
        .OneOf([.. DatasetNames.All]);

    public Option<string?> Data { get; } = new("--data") { Description = "Where the data set is (default for fashion-mnist: " + DataDefaults.FashionMnistPath + ")" };

    public Option<string> Split { get; } = new Option<string>("--split") { Description = "test or train", DefaultValueFactory = _ => "test" }.OneOf("test", "train");

    public Option<int> Count { get; }

    public Option<long> Seed { get; } = new("--seed") { Description = "Seed of the forward draws; term t of image i depends only on (seed, i, t)", DefaultValueFactory = _ => 0 };

    public Option<int> BatchSize { get; } = new Option<int>("--batch-size") { Description = "Images per model call (does not change any image's terms)", DefaultValueFactory = _ => 64 }.Positive();

    public Option<bool> Raw { get; } = new("--raw") { Description = "Use the raw weights instead of the EMA weights" };

    public Option<bool> NoClip { get; }

    public Option<string> Precision { get; } = new Option<string>("--precision") { Description = "fp32 or bf16 compute for the network", DefaultValueFactory = _ => "fp32" }.OneOf("fp32", "bf16");

    public Option<string> Device { get; } = CommonOptions.DeviceOption();

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Checkpoint, Dataset, Data, Split, Count, Seed, BatchSize, Raw, NoClip, Precision, Device }) command.Options.Add(option);
    }

    /// <summary>Whether the network computes in bf16.</summary>
    public bool IsBf16(ParseResult parse) => parse.GetValue(Precision) == "bf16";

    /// <summary>The model of <c>--checkpoint</c>, with the weights, precision and device asked for.</summary>
    public DiffusionModel LoadModel(ParseResult parse) =>
        DiffusionModel.Load(parse.GetValue(Checkpoint)!, preferEma: !parse.GetValue(Raw), IsBf16(parse) ? Training.Precision.Bf16 : Training.Precision.Fp32,
            CommonOptions.ParseDevice(parse.GetValue(Device)!));

    /// <summary>The split's images at the model's size and channel count.</summary>
    public ByteImageDataset OpenImages(ParseResult parse, DiffusionModel model)
    {
        var m = model.Config.Model;
        return Datasets.Open(DatasetNames.Parse(parse.GetValue(Dataset)!), parse.GetValue(Data), m.ImageSize, train: parse.GetValue(Split) == "train", m.InChannels);
    }

    /// <summary>The bound's settings, validated.</summary>
    public LikelihoodSettings Settings(ParseResult parse) => new LikelihoodSettings
    {
        Count = parse.GetValue(Count),
        Seed = parse.GetValue(Seed),
        BatchSize = parse.GetValue(BatchSize),
        ClipDenoised = !parse.GetValue(NoClip),
    }.Validate();
}
