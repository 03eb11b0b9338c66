namespace Ddpm.Data;

/// <summary>The command-line and config.json names of the built-in data sets.</summary>
public static class DatasetNames
{
    /// <summary>Every built-in name.</summary>
    public static IReadOnlyList<string> All { get; } = ["fashion-mnist", "mnist", "cifar10", "folder"];

    /// <summary>The name of a kind.</summary>
    public static string Of(DatasetKind kind) => kind switch
    {
        DatasetKind.FashionMnist => "fashion-mnist",
        DatasetKind.Mnist => "mnist",
        DatasetKind.Cifar10 => "cifar10",
        DatasetKind.Folder => "folder",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown data set kind."),
    };

    /// <summary>The kind of a built-in name, or null for a user's own data set.</summary>
    public static DatasetKind? TryParse(string name) => name.ToLowerInvariant() switch
    {
        "fashion-mnist" or "fashion_mnist" or "fashionmnist" => DatasetKind.FashionMnist,
        "mnist" => DatasetKind.Mnist,
        "cifar10" or "cifar-10" => DatasetKind.Cifar10,
        "folder" => DatasetKind.Folder,
        _ => null,
    };

    /// <summary>The kind of a built-in name; an <see cref="ArgumentException"/> listing the names otherwise.</summary>
    public static DatasetKind Parse(string name) =>
        TryParse(name) ?? throw new ArgumentException($"Unknown data set '{name}' (known: {string.Join(", ", All)}).");

    /// <summary>Random flips by default: the kind's default for built-in data, off for a user's own.</summary>
    public static bool DefaultRandomFlip(string name) => TryParse(name) is { } kind && DataDefaults.RandomFlip(kind);
}
