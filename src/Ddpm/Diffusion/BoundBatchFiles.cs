using System.Globalization;
using Ddpm.Checkpoints;

namespace Ddpm.Diffusion;

/// <summary>
/// Finished batches of a likelihood evaluation as JSON files in a folder (<c>batch-000000.json</c>, …), each written
/// atomically, beside <c>settings.json</c>, a description of what is being evaluated. A folder that already describes other
/// settings is refused, so a rerun only ever continues the same evaluation. Doubles are stored round-trip exactly, so a
/// continued run ends with the same numbers as an uninterrupted one.
/// </summary>
public sealed class BoundBatchFiles : IBoundBatchStore
{
    /// <summary>The description file's name.</summary>
    public const string SettingsFile = "settings.json";

    private readonly string directory;

    /// <summary>Opens or creates <paramref name="directory"/> for an evaluation described by <paramref name="settings"/>.</summary>
    /// <exception cref="ArgumentException">The folder holds batches of an evaluation with other settings.</exception>
    public BoundBatchFiles(string directory, IReadOnlyDictionary<string, string> settings)
    {
        this.directory = directory;
        var path = Path.Combine(directory, SettingsFile);
        var wanted = new SortedDictionary<string, string>(settings.ToDictionary(p => p.Key, p => p.Value), StringComparer.Ordinal);
        if (File.Exists(path))
        {
            var found = ConfigJson.Load<SortedDictionary<string, string>>(path);
            var differences = wanted.Keys.Union(found.Keys).Where(k => wanted.GetValueOrDefault(k) != found.GetValueOrDefault(k)).ToList();
            if (differences.Count > 0)
            {
                throw new ArgumentException($"{directory} holds partial results of an evaluation with other settings " +
                    $"({string.Join(", ", differences.Select(k => $"{k}: {found.GetValueOrDefault(k) ?? "none"} there, {wanted.GetValueOrDefault(k) ?? "none"} now"))}); " +
                    "use another output folder or delete it.");
            }
            return;
        }
        ConfigJson.Save(wanted, path);
    }

    /// <summary>Number of finished batches in the folder.</summary>
    public int Count => Directory.Exists(directory) ? Directory.GetFiles(directory, "batch-*.json").Length : 0;

    /// <inheritdoc />
    public BoundBatch? TryLoad(int batch)
    {
        var path = PathOf(batch);
        return File.Exists(path) ? ConfigJson.Load<BoundBatch>(path) : null;
    }

    /// <inheritdoc />
    public void Save(int batch, BoundBatch result) => ConfigJson.Save(result, PathOf(batch));

    private string PathOf(int batch) => Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"batch-{batch:D6}.json"));
}
