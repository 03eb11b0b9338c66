namespace Ddpm.Data;

/// <summary>Default data locations and augmentation, each with its reason.</summary>
public static class DataDefaults
{
    /// <summary>Where the Debian package <c>dataset-fashion-mnist</c> (installed by <c>scripts/setup.sh</c>) puts Fashion-MNIST.</summary>
    public const string FashionMnistPath = "/usr/share/datasets/fashion-mnist/";

    /// <summary>
    /// Side of folder images when none is given: 64 keeps a U-Net trainable on a CPU while showing more detail than
    /// CIFAR-10's 32 (the paper's CelebA-HQ and LSUN models use 256).
    /// </summary>
    public const int FolderImageSize = 64;

    /// <summary>Folder images are RGB unless asked otherwise.</summary>
    public const int FolderChannels = 3;

    /// <summary>
    /// Whether training flips images left–right at random by default. On for CIFAR-10, as the paper (Ho et al. 2020,
    /// Appendix B: "We used random horizontal flips during training for CIFAR10"), and for photo folders; off for
    /// digits and garments, whose mirror images (a reversed 7, a left shoe turned right) are not samples of the data.
    /// </summary>
    public static bool RandomFlip(DatasetKind kind) => kind switch
    {
        DatasetKind.Cifar10 or DatasetKind.Folder => true,
        DatasetKind.FashionMnist or DatasetKind.Mnist => false,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data set kind."),
    };

    /// <summary>The native image side of a kind (28, 28, 32), or <see cref="FolderImageSize"/> for folders.</summary>
    public static int ImageSize(DatasetKind kind) => kind switch
    {
        DatasetKind.FashionMnist or DatasetKind.Mnist => 28,
        DatasetKind.Cifar10 => Cifar10Dataset.ImageSide,
        DatasetKind.Folder => FolderImageSize,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data set kind."),
    };

    /// <summary>The native channel count of a kind (1 for digits and garments, 3 for CIFAR-10), or <see cref="FolderChannels"/>.</summary>
    public static int Channels(DatasetKind kind) => kind switch
    {
        DatasetKind.FashionMnist or DatasetKind.Mnist => 1,
        DatasetKind.Cifar10 => Cifar10Dataset.Channels,
        DatasetKind.Folder => FolderChannels,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data set kind."),
    };
}
