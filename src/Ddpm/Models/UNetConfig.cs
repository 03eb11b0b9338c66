namespace Ddpm.Models;

/// <summary>
/// The U-Net of Ho et al. 2020 (Appendix B), a PixelCNN++-style backbone. Defaults are the paper's CIFAR-10 model.
/// </summary>
public sealed record UNetConfig
{
    /// <summary>Height and width of the (square) input. CIFAR-10: 32.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>Image channels in. CIFAR-10: 3.</summary>
    public int InChannels { get; init; } = 3;

    /// <summary>Channels out: <see cref="InChannels"/> for ε/x_0/v prediction, twice that for a learned variance.</summary>
    public int OutChannels { get; init; } = 3;

    /// <summary>Base channel count ch. Paper CIFAR-10: 128 (Appendix B).</summary>
    public int BaseChannels { get; init; } = 128;

    /// <summary>Channel multiplier per resolution level. Paper at 32×32: (1, 2, 2, 2).</summary>
    public IReadOnlyList<int> ChannelMultipliers { get; init; } = [1, 2, 2, 2];

    /// <summary>ResNet blocks per level on the way down (the way up has one more). Paper: 2.</summary>
    public int NumResBlocks { get; init; } = 2;

    /// <summary>Resolutions at which self-attention follows each ResNet block. Paper: 16×16 (Appendix B).</summary>
    public IReadOnlyList<int> AttentionResolutions { get; init; } = [16];

    /// <summary>Dropout in every ResNet block. Paper CIFAR-10: 0.1 (Appendix B).</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>GroupNorm groups. Paper: 32 (Wu &amp; He 2018, as the official code).</summary>
    public int NormGroups { get; init; } = 32;

    /// <summary>
    /// Classes of a class-conditional model (0: unconditional, the paper's). A learned embedding of the class, with one
    /// more row for the null class of classifier-free guidance (Ho &amp; Salimans 2021), is added to the timestep
    /// embedding, as guided-diffusion's <c>label_emb</c>.
    /// </summary>
    public int NumClasses { get; init; }

    /// <summary>
    /// Channels of a conditioning image concatenated to x_t at the input (0: none). SR3 (Saharia et al. 2022) feeds the
    /// bicubically upsampled low-resolution image this way.
    /// </summary>
    public int ConditionChannels { get; init; }

    /// <summary>The paper's CIFAR-10 model: 35,746,307 parameters.</summary>
    public static UNetConfig Cifar10 { get; } = new();

    /// <summary>
    /// A small model for 28×28 grey images (MNIST, Fashion-MNIST): ch 32, multipliers (1, 2, 2), levels 28 → 14 → 7,
    /// attention at 14 and in the middle, dropout 0.1: 1,623,169 parameters, the <c>small</c> model of the PyTorch reference benchmark.
    /// </summary>
    public static UNetConfig Small { get; } = new()
    {
        ImageSize = 28,
        InChannels = 1,
        OutChannels = 1,
        BaseChannels = 32,
        ChannelMultipliers = [1, 2, 2],
        AttentionResolutions = [14],
    };

    /// <summary>Preset names accepted by <see cref="FromPreset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["small", "cifar10"];

    /// <summary>A preset by name (<c>small</c>, <c>cifar10</c>).</summary>
    public static UNetConfig FromPreset(string name) => name.ToLowerInvariant() switch
    {
        "small" => Small,
        "cifar10" or "cifar" => Cifar10,
        _ => throw new ArgumentException($"Unknown model preset '{name}' (known: {string.Join(", ", PresetNames)})."),
    };

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the U-Net cannot be built.</summary>
    public UNetConfig Validate()
    {
        if (ImageSize < 1) throw new ArgumentException($"image size must be positive (got {ImageSize}).");
        if (InChannels < 1 || OutChannels < 1) throw new ArgumentException("channel counts must be positive.");
        if (BaseChannels < 1) throw new ArgumentException($"base channels must be positive (got {BaseChannels}).");
        if (ChannelMultipliers.Count == 0 || ChannelMultipliers.Any(m => m < 1)) throw new ArgumentException("channel multipliers must be positive and not empty.");
        if (NumResBlocks < 1) throw new ArgumentException($"res blocks per level must be at least 1 (got {NumResBlocks}).");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"dropout must lie in [0, 1) (got {Dropout}).");
        if (NumClasses < 0) throw new ArgumentException($"the number of classes must not be negative (got {NumClasses}).");
        if (ConditionChannels < 0) throw new ArgumentException($"conditioning channels must not be negative (got {ConditionChannels}).");
        if (BaseChannels % 2 != 0) throw new ArgumentException("base channels must be even (sinusoidal embedding).");
        foreach (var m in ChannelMultipliers)
        {
            if (BaseChannels * m % NormGroups != 0)
                throw new ArgumentException($"channels {BaseChannels * m} are not divisible by {NormGroups} norm groups.");
        }
        var size = ImageSize;
        for (var level = 0; level < ChannelMultipliers.Count - 1; level++)
        {
            if (size % 2 != 0) throw new ArgumentException($"image size {ImageSize} cannot be halved {ChannelMultipliers.Count - 1} times.");
            size /= 2;
        }
        return this;
    }
}
