using System.Text.Json.Serialization;

namespace Ddpm.Evaluation;

/// <summary>
/// The JSON description of a <see cref="ClassifierNetwork"/> feature extractor (<c>config.json</c> beside
/// <c>model.safetensors</c>): with it, a network of other widths plugs into <see cref="FeatureExtractors.Load"/> with no code.
/// </summary>
public sealed record ClassifierConfig
{
    /// <summary>The architecture's name in the JSON description.</summary>
    public const string ClassifierKind = "classifier-cnn";

    /// <summary>Architecture: <see cref="ClassifierKind"/>.</summary>
    public string Kind { get; init; } = ClassifierKind;

    /// <summary>The extractor's <see cref="IFeatureExtractor.Id"/>.</summary>
    public string Id { get; init; } = "fashion-mnist-classifier";

    /// <summary>Input channels (images of another count are converted: RGB to luma, grey repeated).</summary>
    public int InChannels { get; init; } = 1;

    /// <summary>Input side in pixels (images of another size are resized bilinearly).</summary>
    public int ImageSize { get; init; } = 28;

    /// <summary>Channels of each convolution stage; a 2×2 max-pool follows every stage but the last.</summary>
    public IReadOnlyList<int> Widths { get; init; } = [32, 64, 128];

    /// <summary>3×3 convolutions per stage, each followed by normalisation and ReLU.</summary>
    public int ConvsPerStage { get; init; } = 1;

    /// <summary>Normalisation after each convolution and after the feature layer.</summary>
    public ClassifierNorm Norm { get; init; } = ClassifierNorm.Batch;

    /// <summary>Length of the penultimate (feature) layer, after global average pooling and a linear layer with ReLU.</summary>
    public int FeatureDimension { get; init; } = 256;

    /// <summary>Number of classes of the head.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>Dropout between the feature layer and the head, in training only.</summary>
    public double Dropout { get; init; } = 0.3;

    /// <summary>The weight file, relative to the description.</summary>
    public string Weights { get; init; } = "model.safetensors";

    /// <summary>Throws when a field is out of range.</summary>
    public void Validate()
    {
        if (Kind != ClassifierKind) throw new ArgumentException($"Unknown feature network kind '{Kind}' (expected '{ClassifierKind}').");
        ArgumentException.ThrowIfNullOrWhiteSpace(Id);
        if (InChannels is not (1 or 3)) throw new ArgumentException($"in_channels must be 1 or 3, got {InChannels}.");
        if (ImageSize < 4) throw new ArgumentException($"image_size must be at least 4, got {ImageSize}.");
        if (Widths is null || Widths.Count == 0 || Widths.Any(w => w < 1)) throw new ArgumentException("widths must be a non-empty list of positive channel counts.");
        if (ImageSize >> (Widths.Count - 1) < 1) throw new ArgumentException($"{Widths.Count} stages halve a {ImageSize}-pixel image below one pixel.");
        if (ConvsPerStage < 1) throw new ArgumentException($"convs_per_stage must be at least 1, got {ConvsPerStage}.");
        if (FeatureDimension < 1) throw new ArgumentException($"feature_dimension must be positive, got {FeatureDimension}.");
        if (Classes < 2) throw new ArgumentException($"classes must be at least 2, got {Classes}.");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"dropout must be in [0, 1), got {Dropout}.");
        if (Norm == ClassifierNorm.Group && Widths.Any(w => w % GroupNormGroups(w) != 0)) throw new ArgumentException("Group norm needs widths divisible by their group count.");
    }

    /// <summary>Groups of group normalisation for <paramref name="channels"/>: 8, or fewer for narrow layers.</summary>
    internal static int GroupNormGroups(int channels) => channels % 8 == 0 ? 8 : channels % 4 == 0 ? 4 : 1;
}

/// <summary>Normalisation layers of a <see cref="ClassifierNetwork"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ClassifierNorm>))]
public enum ClassifierNorm
{
    /// <summary>Batch normalisation (running statistics in evaluation).</summary>
    Batch,

    /// <summary>Group normalisation (batch-independent), 8 groups where the width allows.</summary>
    Group,
}
