using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Finds and loads feature networks.</summary>
public static class FeatureExtractors
{
    /// <summary>The folder of the committed Fashion-MNIST classifier, under <c>models/</c>.</summary>
    public const string DefaultClassifierName = "fashion-mnist-classifier";

    /// <summary>
    /// Loads an extractor from a path or a name: a <c>.pth</c> file is pytorch-fid's Inception-v3 weights
    /// (<c>pt_inception-2015-12-05-6726825d.pth</c>); a JSON file or a folder with <c>config.json</c> describes a network
    /// (its <c>"kind"</c>, e.g. <c>classifier-cnn</c>) whose safetensors weights it names; a bare name is looked up as a
    /// folder under <c>models/</c> (of the current folder or one above it, or of the program's folder or one above it).
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is found under that path or name.</exception>
    /// <exception cref="InvalidDataException">The description or weights do not make a known network.</exception>
    public static IFeatureExtractor Load(string pathOrName, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrName);
        if (File.Exists(pathOrName))
        {
            if (pathOrName.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || pathOrName.EndsWith(".pt", StringComparison.OrdinalIgnoreCase))
                return FidInceptionExtractor.Load(pathOrName, device);
            return LoadDescription(pathOrName, device);
        }
        if (Directory.Exists(pathOrName)) return LoadDescription(Path.Combine(pathOrName, "config.json"), device);
        if (FindModel(pathOrName) is { } folder) return LoadDescription(Path.Combine(folder, "config.json"), device);
        throw new FileNotFoundException($"{pathOrName}: no feature network there (expected a .pth Inception file, a JSON description, or a folder with config.json).", pathOrName);
    }

    /// <summary>
    /// The default extractor for images of a shape: for 28×28 grey images the committed Fashion-MNIST classifier; any other
    /// shape has no default and needs pytorch-fid's Inception weights (<c>--inception PATH</c>).
    /// </summary>
    public static IFeatureExtractor DefaultFor(int channels, int height, int width, Device? device = null)
    {
        if (channels == 1 && height == 28 && width == 28) return Load(DefaultClassifierName, device);
        throw new ArgumentException(
            $"No default feature network for {channels}×{height}×{width} images: pass --inception PATH (pytorch-fid's pt_inception-2015-12-05-6726825d.pth) or another extractor.");
    }

    private static IFeatureExtractor LoadDescription(string configPath, Device? device)
    {
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{configPath}: not found.", configPath);
        string? kind;
        try
        {
            kind = (string?)JsonNode.Parse(File.ReadAllText(configPath))?["kind"];
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message.Split('\n')[0]}).", e);
        }
        return kind switch
        {
            ClassifierConfig.ClassifierKind => ClassifierExtractor.Load(configPath, device),
            _ => throw new InvalidDataException($"{configPath}: unknown feature network kind '{kind}' (known: {ClassifierConfig.ClassifierKind}; Inception-v3 loads from its .pth file)."),
        };
    }

    private static string? FindModel(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)) return null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "models", name);
                if (File.Exists(Path.Combine(candidate, "config.json"))) return candidate;
            }
        }
        return null;
    }
}
