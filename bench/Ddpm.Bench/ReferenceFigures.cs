using System.Text.Json;

namespace Ddpm.Bench;

/// <summary>One row of the reference: throughput for training rows, seconds for sampling rows, and peak RSS.</summary>
internal sealed record ReferenceRow
{
    public int Batch { get; init; }
    public double? ImagesPerSecond { get; init; }
    public double? Seconds { get; init; }
    public double? PeakRssMiB { get; init; }
    public double? HaswellImagesPerSecond { get; init; }
    public double? HaswellSeconds { get; init; }

    /// <summary>How the figure was computed when it was not measured directly.</summary>
    public string? Derived { get; init; }
    public string? Note { get; init; }
}

/// <summary>The figures we compare against (bench/reference/*.json), keyed by our row names.</summary>
internal sealed record ReferenceFigures
{
    public string Name { get; init; } = "reference";
    public string? Source { get; init; }
    public string? Software { get; init; }
    public string? Machine { get; init; }
    public string? Method { get; init; }
    public Dictionary<string, ReferenceRow> Rows { get; init; } = [];

    public static ReferenceFigures Load(string path) =>
        JsonSerializer.Deserialize<ReferenceFigures>(File.ReadAllText(path), Json.Options)
        ?? throw new InvalidDataException($"{path}: empty reference file.");

    public ReferenceRow? For(RowResult result) =>
        Rows.TryGetValue(result.Row, out var r) && r.Batch == result.Batch ? r : null;
}
