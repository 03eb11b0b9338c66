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

    /// <summary>Validates every part; throws <see cref="ArgumentException"/> with a one-line reason.</summary>
    public RunConfig Validate()
    {
        Model.Validate();
        Diffusion.Validate();
        Training.Validate();
        return this;
    }
}
