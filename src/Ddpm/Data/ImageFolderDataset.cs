using SkiaSharp;

namespace Ddpm.Data;

/// <summary>
/// Loads a folder of images (searched recursively; hidden files and folders skipped), decoded with SkiaSharp, each
/// scaled so its shorter side is the image size and centre-cropped to a square. When every image sits in a subfolder,
/// the first-level subfolders are the classes, numbered in sorted (ordinal) order as torchvision's <c>ImageFolder</c>;
/// otherwise the data set is unlabelled. Images are ordered by class, then by relative path (ordinal), so loading is
/// deterministic.
/// </summary>
public static class ImageFolderDataset
{
    /// <summary>File extensions loaded (case-insensitive). PNG and JPEG are the common cases; SkiaSharp also decodes the rest.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Loads every image under <paramref name="directory"/> into memory.</summary>
    /// <param name="directory">The root folder.</param>
    /// <param name="imageSize">Side of the square images produced.</param>
    /// <param name="channels">3 for RGB, or 1 for grey (BT.601 luma, as PIL's <c>convert("L")</c>).</param>
    /// <param name="name">Name of the data set; default: the folder's name.</param>
    /// <exception cref="DataException">The folder is missing or holds no image, or an image cannot be read or decoded.</exception>
    public static ByteImageDataset Load(string directory, int imageSize, int channels = 3, string? name = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images have 1 (grey) or 3 (RGB) channels.");
        DataFiles.RequireDirectory(directory);

        var (files, classes) = List(directory);
        var images = new byte[files.Count][];
        var errors = new DataException?[files.Count];
        Parallel.For(0, files.Count, i =>
        {
            try
            {
                images[i] = Decode(files[i].Path, imageSize, channels);
            }
            catch (DataException e)
            {
                errors[i] = e;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                errors[i] = new DataException(files[i].Path, $"cannot decode image: {e.Message}", e);
            }
        });
        // Report the first bad file in file order, so the error does not depend on thread timing.
        var error = errors.FirstOrDefault(e => e is not null);
        if (error is not null) throw error;

        var labels = classes.Count > 0 ? files.Select(f => f.Label).ToArray() : null;
        var datasetName = name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        return new ByteImageDataset(datasetName, channels, imageSize, imageSize, images, labels, labels is null ? null : classes);
    }

    private static (List<(string Path, int Label)> Files, List<string> Classes) List(string directory)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        };
        List<string> relative;
        try
        {
            relative = [.. Directory.EnumerateFiles(directory, "*", options)
                .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Select(f => Path.GetRelativePath(directory, f))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataException(directory, $"cannot list: {e.Message}", e);
        }
        if (relative.Count == 0)
            throw new DataException(directory, $"no images found (looked for {string.Join(", ", Extensions)})");

        static string? FirstFolder(string path)
        {
            var separator = path.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]);
            return separator < 0 ? null : path[..separator];
        }

        var labelled = relative.All(r => FirstFolder(r) is not null);
        var classes = labelled ? relative.Select(r => FirstFolder(r)!).Distinct().Order(StringComparer.Ordinal).ToList() : [];
        var files = relative
            .Select(r => (Path: Path.Combine(directory, r), Label: labelled ? classes.BinarySearch(FirstFolder(r)!, StringComparer.Ordinal) : -1, Relative: r))
            .OrderBy(f => f.Label).ThenBy(f => f.Relative, StringComparer.Ordinal)
            .Select(f => (f.Path, f.Label))
            .ToList();
        return (files, classes);
    }

    private static byte[] Decode(string path, int imageSize, int channels)
    {
        var bytes = DataFiles.ReadAllBytes(path);
        if (bytes.Length == 0) throw new DataException(path, "empty file");
        using var bitmap = SKBitmap.Decode(bytes) ?? throw new DataException(path, "cannot decode image (not a valid PNG, JPEG, BMP, GIF or WebP)");
        if (bitmap.Width < 1 || bitmap.Height < 1) throw new DataException(path, $"bad image size {bitmap.Width}×{bitmap.Height}");
        return ImageResize.CenterSquare(bitmap, imageSize, channels);
    }
}
