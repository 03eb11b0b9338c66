using System.Globalization;
using System.Text.Json;
using Ddpm.Checkpoints;

namespace Ddpm.Training;

/// <summary>
/// The settings a run may change when it is resumed: none of them alters the model, the data order or the random
/// streams, so the steps already trained stay valid. Null leaves a setting as saved. Everything else that defines a run
/// (model, diffusion, data set and image shape, batch, learning rate, warm-up, EMA, flips, seed) is fixed at its start.
/// </summary>
public sealed record ResumeChanges
{
    /// <summary>The new total of optimizer steps (training stops at once if the run is already past it).</summary>
    public long? Steps { get; init; }

    /// <summary>
    /// Compute precision: master weights, EMA and Adam's state are float32 in both precisions and are what a
    /// checkpoint holds, so a run can switch between fp32 and bf16 at a checkpoint.
    /// </summary>
    public Precision? Precision { get; init; }

    /// <summary>Sample grid cadence (0: only at the end). Sampling draws from its own seeded stream, not the training streams.</summary>
    public long? SampleEvery { get; init; }

    /// <summary>Images in each sample grid.</summary>
    public int? SampleCount { get; init; }

    /// <summary>DDIM steps of the sample grids.</summary>
    public int? SampleSteps { get; init; }

    /// <summary>Checkpoint cadence; writing a checkpoint does not touch the training state.</summary>
    public long? CheckpointEvery { get; init; }

    /// <summary>Checkpoints kept in the run folder.</summary>
    public int? KeepCheckpoints { get; init; }

    /// <summary>
    /// Where the data set now is (it was moved, or the run was copied to another machine). The data set given to
    /// <see cref="TrainingRun.Resume"/> must still have the saved number of images and image shape.
    /// </summary>
    public string? DataPath { get; init; }

    /// <summary>
    /// <paramref name="config"/> with these changes applied, and one <see cref="ConfigChange"/> appended to its
    /// <see cref="RunConfig.History"/> for each setting whose value really changes (at <paramref name="step"/>, <paramref name="time"/>).
    /// </summary>
    public RunConfig ApplyTo(RunConfig config, long step, DateTimeOffset time)
    {
        var history = config.History.ToList();
        var t = config.Training;
        T Change<T>(string setting, T saved, T? given) where T : struct
        {
            if (given is not { } value || EqualityComparer<T>.Default.Equals(value, saved)) return saved;
            history.Add(new ConfigChange(step, time, setting, Text(saved), Text(value)));
            return value;
        }
        var training = t with
        {
            Steps = Change("training.steps", t.Steps, Steps),
            Precision = Change("training.precision", t.Precision, Precision),
            SampleEvery = Change("training.sample_every", t.SampleEvery, SampleEvery),
            SampleCount = Change("training.sample_count", t.SampleCount, SampleCount),
            SampleSteps = Change("training.sample_steps", t.SampleSteps, SampleSteps),
            CheckpointEvery = Change("training.checkpoint_every", t.CheckpointEvery, CheckpointEvery),
            KeepCheckpoints = Change("training.keep_checkpoints", t.KeepCheckpoints, KeepCheckpoints),
        };
        var data = config.Data;
        if (DataPath is { } path && !string.Equals(path, data.Path, StringComparison.Ordinal))
        {
            history.Add(new ConfigChange(step, time, "data.path", data.Path, path));
            data = data with { Path = path };
        }
        return config with { Training = training, Data = data, History = history };
    }

    // A value as config.json spells it: enums in snake case, numbers in the invariant culture.
    private static string Text<T>(T value) where T : struct => value is Enum
        ? JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()!)
        : Convert.ToString(value, CultureInfo.InvariantCulture)!;
}
