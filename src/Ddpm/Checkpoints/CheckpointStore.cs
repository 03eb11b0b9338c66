using System.Globalization;
using Ddpm.Imaging;

namespace Ddpm.Checkpoints;

/// <summary>
/// The checkpoints of a run folder: <c>RUN/checkpoints/step-NNNNNNN/</c>, a <c>RUN/checkpoints/latest</c> pointer to the
/// newest complete one, and only the last few kept. Each checkpoint is written into a temporary folder and renamed
/// into place, and the pointer is replaced atomically, so an interrupted write never leaves a half checkpoint in use.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>A store over <paramref name="runDirectory"/> keeping <paramref name="keep"/> checkpoints.</summary>
    public CheckpointStore(string runDirectory, int keep = 3)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "At least one checkpoint must be kept.");
        RunDirectory = Path.GetFullPath(runDirectory);
        Keep = keep;
    }

    /// <summary>The run folder.</summary>
    public string RunDirectory { get; }

    /// <summary>How many complete checkpoints are kept.</summary>
    public int Keep { get; }

    /// <summary>The folder holding the step folders.</summary>
    public string CheckpointsDirectory => Path.Combine(RunDirectory, CheckpointFiles.CheckpointsFolder);

    /// <summary>The latest complete checkpoint folder, or null if there is none.</summary>
    public string? Latest
    {
        get
        {
            var pointer = Path.Combine(CheckpointsDirectory, CheckpointFiles.Latest);
            if (!File.Exists(pointer)) return null;
            var name = File.ReadAllText(pointer).Trim();
            var dir = Path.Combine(CheckpointsDirectory, name);
            return name.Length > 0 && IsCheckpoint(dir) ? dir : null;
        }
    }

    /// <summary>
    /// Writes the checkpoint of <paramref name="step"/>: <paramref name="writeFiles"/> fills a temporary folder, which is
    /// renamed to its step folder; then the pointer moves to it and old checkpoints beyond <see cref="Keep"/> are removed.
    /// </summary>
    public string Save(long step, Action<string> writeFiles)
    {
        Directory.CreateDirectory(CheckpointsDirectory);
        var final = Path.Combine(CheckpointsDirectory, CheckpointFiles.StepFolder(step));
        var temporary = Path.Combine(CheckpointsDirectory, $".{CheckpointFiles.StepFolder(step)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temporary);
        try
        {
            writeFiles(temporary);
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temporary, final);
        }
        catch
        {
            TryDeleteDirectory(temporary);
            throw;
        }
        AtomicFile.WriteAllBytes(Path.Combine(CheckpointsDirectory, CheckpointFiles.Latest), System.Text.Encoding.UTF8.GetBytes(CheckpointFiles.StepFolder(step) + "\n"));
        Prune();
        return final;
    }

    /// <summary>The complete checkpoint folders, oldest first.</summary>
    public IReadOnlyList<string> List()
    {
        if (!Directory.Exists(CheckpointsDirectory)) return [];
        return Directory.GetDirectories(CheckpointsDirectory, "step-*")
            .Where(IsCheckpoint)
            .OrderBy(d => StepOf(d))
            .ToList();
    }

    /// <summary>Whether <paramref name="directory"/> looks like a complete checkpoint folder (weights and config present).</summary>
    public static bool IsCheckpoint(string directory) =>
        Directory.Exists(directory)
        && (File.Exists(Path.Combine(directory, CheckpointFiles.Ema)) || File.Exists(Path.Combine(directory, CheckpointFiles.Model)))
        && File.Exists(Path.Combine(directory, CheckpointFiles.Config));

    /// <summary>
    /// Resolves what a user passed as <c>--checkpoint</c>: a run folder (its latest checkpoint) or one checkpoint folder.
    /// Throws <see cref="FileNotFoundException"/> with a one-line message otherwise.
    /// </summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (IsCheckpoint(full)) return full;
        if (Directory.Exists(full))
        {
            var latest = new CheckpointStore(full).Latest;
            if (latest is not null) return latest;
            throw new FileNotFoundException($"{path}: no complete checkpoint in this folder (expected {CheckpointFiles.Config} with {CheckpointFiles.Ema} or {CheckpointFiles.Model}, or a run folder with checkpoints/{CheckpointFiles.Latest}).");
        }
        throw new FileNotFoundException($"{path}: no such checkpoint or run folder.");
    }

    private void Prune()
    {
        var all = List();
        foreach (var old in all.Take(Math.Max(0, all.Count - Keep))) TryDeleteDirectory(old);
        foreach (var stale in Directory.GetDirectories(CheckpointsDirectory, ".step-*.tmp")) TryDeleteDirectory(stale);
    }

    private static long StepOf(string directory)
    {
        var name = Path.GetFileName(directory);
        return long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var step) ? step : -1;
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover folder is harmless: it is never the target of the pointer.
        }
    }
}
