using Ddpm.Conditioning;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Training;

namespace Ddpm.Checkpoints;

/// <summary>Where the training images came from, recorded for <c>ddpm info</c> and resumption.</summary>
public sealed record DataConfig
{
    /// <summary>Data set name: fashion-mnist, mnist, cifar10, folder, or a user data set's own name.</summary>
    public string Dataset { get; init; } = "fashion-mnist";

    /// <summary>Where it was read from (null: the data set's default location).</summary>
    public string? Path { get; init; }

    /// <summary>Images in the training split.</summary>
    public int Images { get; init; }

    /// <summary>
    /// Side of the square images as the data set was opened (after any resizing); null in runs written before it was
    /// recorded, where it equals the model's <see cref="UNetConfig.ImageSize"/>.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>Channels of the images as the data set was opened (1 or 3); null in older runs: the model's <see cref="UNetConfig.InChannels"/>.</summary>
    public int? Channels { get; init; }
}

/// <summary>Everything that defines a run, saved as <c>config.json</c> beside the weights (diffusers' config-as-data).</summary>
public sealed record RunConfig
{
    /// <summary>Format tag, so future versions can read old runs.</summary>
    public string Format { get; init; } = "ddpm-run/1";

    /// <summary>Name of the model preset the run started from, if any.</summary>
    public string? Preset { get; init; }

    /// <summary>The U-Net.</summary>
    public UNetConfig Model { get; init; } = UNetConfig.Small;

    /// <summary>The diffusion process.</summary>
    public DiffusionConfig Diffusion { get; init; } = new();

    /// <summary>The training recipe.</summary>
    public TrainingConfig Training { get; init; } = TrainingConfig.ForPreset("small");

    /// <summary>The training data.</summary>
    public DataConfig Data { get; init; } = new();

    /// <summary>Class conditioning or super-resolution (runs written before it existed are unconditional generation).</summary>
    public ConditioningConfig Conditioning { get; init; } = new();

    /// <summary>Settings changed when the run was resumed, oldest first (empty if none was).</summary>
    public IReadOnlyList<ConfigChange> History { get; init; } = [];

    /// <summary>
    /// Reads a run's <c>config.json</c>. Fields that older versions did not write take the values those runs implied
    /// (the data's image size and channels are the model's), so every run written by an earlier version still resumes.
    /// </summary>
    public static RunConfig Load(string path)
    {
        var config = ConfigJson.Load<RunConfig>(path);
        return config with
        {
            Data = config.Data with
            {
                ImageSize = config.Data.ImageSize ?? config.Model.ImageSize,
                Channels = config.Data.Channels ?? config.Model.InChannels,
            },
            History = config.History ?? [],
            Conditioning = config.Conditioning ?? new(),
        };
    }

    /// <summary>Validates every part; throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public RunConfig Validate()
    {
        Model.Validate();
        Diffusion.Validate();
        Training.Validate();
        Conditioning.Validate(Model);
        ValidateObjective(Diffusion.VarianceType, Training.Loss);
        var outputs = Diffusion.VarianceType.OutputChannels(Model.InChannels);
        if (Model.OutChannels != outputs)
        {
            throw new ArgumentException(
                $"the model outputs {Model.OutChannels} channels but {Model.InChannels}-channel images with {ObjectiveNames.Of(Diffusion.VarianceType)} variance need {outputs}.");
        }
        return this;
    }

    /// <summary>
    /// Refuses objectives that cannot train: L_simple leaves a learned variance untrained, and the hybrid's bound term has
    /// nothing to train under a fixed variance. Throws <see cref="ArgumentException"/> naming the valid choices.
    /// </summary>
    public static void ValidateObjective(ModelVarianceType variance, LossType loss)
    {
        if (loss == LossType.Simple && variance.IsLearned())
        {
            throw new ArgumentException(
                $"loss simple cannot train a {ObjectiveNames.Of(variance)} variance: use loss hybrid or kl with it, or variance fixed-small or fixed-large with loss simple.");
        }
        if (loss == LossType.Hybrid && !variance.IsLearned())
        {
            throw new ArgumentException(
                $"loss hybrid trains a learned variance, and {ObjectiveNames.Of(variance)} is fixed: use variance learned or learned-range with it, or loss simple or kl.");
        }
    }
}
