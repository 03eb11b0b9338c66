using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Imaging;
using Ddpm.Sampling;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Progress of an evaluation phase: <paramref name="Done"/> of <paramref name="Total"/> images.</summary>
public sealed record EvaluationProgress(string Phase, int Done, int Total);

/// <summary>What <c>eval.json</c> records: where the images came from, how they were made, what they were compared with, and every metric.</summary>
public sealed record EvaluationRecord
{
    /// <summary>The checkpoint, image folder or data set split scored.</summary>
    public string Source { get; init; } = "";

    /// <summary>The sampler (ddpm or ddim) when the images were sampled here.</summary>
    public string? Sampler { get; init; }

    /// <summary>Sampling steps.</summary>
    public int? Steps { get; init; }

    /// <summary>x̂_0 handling during sampling.</summary>
    public string? Clip { get; init; }

    /// <summary>Seed of the sampled images (image i depends only on the seed and i).</summary>
    public long? Seed { get; init; }

    /// <summary>The classes asked of a class-conditional model and the guidance scale, when it was one.</summary>
    public string? Classes { get; init; }

    /// <summary>Classifier-free guidance scale of a class-conditional model's samples.</summary>
    public double? Guidance { get; init; }

    /// <summary>The share of samples the feature network's classifier assigns to the class they were drawn for.</summary>
    public double? ClassAccuracy { get; init; }

    /// <summary>The reference: data set, split and image count.</summary>
    public string Reference { get; init; } = "";

    /// <summary>The feature network's id.</summary>
    public string Extractor { get; init; } = "";

    /// <summary>SHA-256 of the feature network's weights.</summary>
    public string ExtractorSha256 { get; init; } = "";

    /// <summary>Every metric.</summary>
    public required QualityReport Metrics { get; init; }

    /// <summary>Wall time spent sampling in this invocation, in seconds (0 when every image was already there).</summary>
    public double SampleSeconds { get; init; }

    /// <summary>Wall time spent on features and metrics, in seconds.</summary>
    public double ScoreSeconds { get; init; }

    /// <summary>How images are fed to the feature network.</summary>
    public string Pixels { get; init; } = PixelNote;

    /// <summary>The pixel convention, as pytorch-fid and clean-fid users expect.</summary>
    public const string PixelNote =
        "Both sets are 8-bit PNG values (real images as stored, generated images after rounding to a PNG), mapped b -> b/127.5 - 1.";
}

/// <summary>
/// The steps of <c>ddpm eval</c>: draw the missing images of a sampling run into a folder (resumable), compute features of
/// image sets, score them against a cached reference, and write <c>eval.json</c>, <c>report.md</c>, a sample grid and the
/// memorisation check (each sample beside its nearest reference images in feature space).
/// </summary>
public static class EvaluationRun
{
    /// <summary>Folder of the sampled PNGs inside the output folder.</summary>
    public const string ImagesFolder = "images";

    /// <summary>File names written into the output folder.</summary>
    public const string JsonFile = "eval.json", ReportFile = "report.md", GridFile = "samples.png", NeighboursFile = "nearest-neighbours.png";

    /// <summary>Samples shown in the memorisation check, and neighbours per sample.</summary>
    public const int NeighbourSamples = 16, NeighboursPerSample = 3;

    /// <summary>The file of image <paramref name="index"/> (global) in <paramref name="directory"/>, as <c>ddpm sample --out-dir</c> names it.</summary>
    public static string ImagePath(string directory, long index) => Path.Combine(directory, ImageFiles.FileName("sample", checked((int)index)));

    /// <summary>
    /// Draws the images of <paramref name="shard"/> of a run of <paramref name="total"/> images that are not yet in
    /// <paramref name="directory"/>, each written atomically as soon as its batch is done; existing images are kept. Image i
    /// depends only on (<paramref name="seed"/>, i), so a rerun after an interruption completes the same set. Returns the number drawn.
    /// </summary>
    /// <exception cref="IOException">The folder holds images of another model, sampler, seed, count or classes (its <see cref="ManifestFile"/> differs).</exception>
    public static int GenerateMissing(DiffusionModel model, SamplerSettings sampler, string directory, int total, long seed, int batchSize,
        Shard? shard = null, IProgress<EvaluationProgress>? progress = null, ClassChoice? classes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        shard ??= Shard.Whole;
        Directory.CreateDirectory(directory);
        // Kept images are only reused for the same weights and sampling settings.
        var weights = Path.Combine(model.CheckpointDirectory, model.UsesEma ? CheckpointFiles.Ema : CheckpointFiles.Model);
        var manifest = ConfigJson.Serialize(new SamplingManifest(Path.GetFullPath(weights), new FileInfo(weights).Length, model.Precision.ToString(),
            sampler, seed, total, classes));
        var manifestPath = Path.Combine(directory, ManifestFile);
        if (File.Exists(manifestPath) && File.ReadAllText(manifestPath) != manifest)
            throw new IOException($"{directory} holds images of another model, sampler, seed, count or classes ({manifestPath}); use another output folder or delete it.");
        AtomicFile.WriteAllBytes(manifestPath, Encoding.UTF8.GetBytes(manifest));
        var first = shard.First(total);
        var length = shard.Length(total);
        var missing = new List<long>();
        for (var i = first; i < first + length; i++)
            if (!File.Exists(ImagePath(directory, i))) missing.Add(i);
        var done = 0;
        progress?.Report(new EvaluationProgress("sample", 0, missing.Count));
        // Runs of consecutive missing indices, cut into batches.
        for (var start = 0; start < missing.Count;)
        {
            var size = 1;
            while (start + size < missing.Count && size < batchSize && missing[start + size] == missing[start] + size) size++;
            using (var images = model.Sample(size, sampler, seed, batchSize, firstIndex: missing[start],
                labels: classes?.Labels(missing[start], size), guidance: classes?.Guidance ?? 1))
                ImageFiles.SaveEach(images, directory, "sample", checked((int)missing[start]));
            start += size;
            done += size;
            progress?.Report(new EvaluationProgress("sample", done, missing.Count));
        }
        return missing.Count;
    }

    /// <summary>The record of how a folder's images are drawn, beside them.</summary>
    public const string ManifestFile = "sampling.json";

    // Classes are left out for unconditional models, so the folders of earlier versions still resume.
    private sealed record SamplingManifest(string Weights, long WeightsBytes, string Precision, SamplerSettings Sampler, long Seed, int Count,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] ClassChoice? Classes);

    /// <summary>The images of a sampling run's folder, by global index 0..count−1; every one must exist.</summary>
    public static ByteImageDataset LoadSamples(string directory, int count, string name = "samples")
    {
        var images = new byte[count][];
        var first = ImageFiles.LoadBytes(ImagePath(directory, 0));
        images[0] = first.Pixels;
        Parallel.For(1, count, i =>
        {
            var path = ImagePath(directory, i);
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing; rerun to draw it.", path);
            var b = ImageFiles.LoadBytes(path, first.Channels);
            if (b.Height != first.Height || b.Width != first.Width) throw new InvalidDataException($"{path}: {b.Height}×{b.Width}, unlike image 0 ({first.Height}×{first.Width}).");
            images[i] = b.Pixels;
        });
        return new ByteImageDataset(name, first.Channels, first.Height, first.Width, images);
    }

    /// <summary>
    /// Every image of a folder (e.g. another implementation's samples, or gathered shards), at the size and channel count of
    /// its first image in file order (others are resized and centre-cropped as <see cref="ImageFolderDataset"/> does).
    /// </summary>
    public static ByteImageDataset LoadFolder(string directory)
    {
        DataFiles.RequireDirectory(directory);
        var first = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => ImageFolderDataset.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).FirstOrDefault()
            ?? throw new DataException(directory, "no image files.");
        var probe = ImageFiles.LoadBytes(first);
        if (probe.Height != probe.Width) throw new DataException(first, $"images must be square (got {probe.Height}×{probe.Width}).");
        return ImageFolderDataset.Load(directory, probe.Height, probe.Channels);
    }

    /// <summary>Float32 batches [n, C, H, W] in [−1, 1] of the first <paramref name="count"/> images; each batch is disposed when the next is taken.</summary>
    public static IEnumerable<Tensor> Batches(IDataset data, int count, int batchSize)
    {
        if (count > data.Count) throw new ArgumentException($"{data.Name} has {data.Count} images, fewer than {count}.");
        for (var start = 0; start < count; start += batchSize)
        {
            using var batch = DatasetImages.Read(data, start, Math.Min(batchSize, count - start));
            yield return batch;
        }
    }

    /// <summary>Features of the first <paramref name="count"/> images of <paramref name="data"/>.</summary>
    public static FeatureSet Features(IFeatureExtractor extractor, IDataset data, int count, int batchSize, IProgress<EvaluationProgress>? progress = null, string phase = "features")
    {
        var reporter = progress is null ? null : new Progress(n => progress.Report(new EvaluationProgress(phase, n, count)));
        return FeatureSet.Compute(extractor, Batches(data, count, batchSize), reporter);
    }

    /// <summary>
    /// Features of a reference split: from the cache in <paramref name="cacheDirectory"/> when present (keyed by data set, split,
    /// count, extractor and weights hash), else computed and cached. A null cache folder computes them every time.
    /// </summary>
    public static FeatureSet ReferenceFeatures(IFeatureExtractor extractor, IDataset data, string dataset, string split, int count, int batchSize,
        string? cacheDirectory, IProgress<EvaluationProgress>? progress = null)
    {
        FeatureSet Compute() => Features(extractor, data, count, batchSize, progress, "reference");
        return cacheDirectory is null ? Compute() : ReferenceStatistics.GetOrCompute(cacheDirectory, dataset, split, count, extractor, Compute);
    }

    /// <summary>For each of the first <paramref name="samples"/> generated images, the indices of its <paramref name="k"/> nearest reference images (Euclidean, in feature space).</summary>
    public static int[][] NearestNeighbours(FeatureSet reference, FeatureSet generated, int samples = NeighbourSamples, int k = NeighboursPerSample)
    {
        using var scope = NewDisposeScope();
        var n = Math.Min(samples, generated.Count);
        k = Math.Min(k, reference.Count);
        var g = generated.Slice(0, n).FeaturesTensor(ScalarType.Float64);
        var r = reference.FeaturesTensor(ScalarType.Float64);
        var distances = cdist(g, r);
        var (_, indices) = distances.topk(k, dim: 1, largest: false, sorted: true);
        var flat = indices.to(ScalarType.Int64).data<long>().ToArray();
        return [.. Enumerable.Range(0, n).Select(i => flat.Skip(i * k).Take(k).Select(v => (int)v).ToArray())];
    }

    /// <summary>The memorisation check as one PNG: a row per sample, the sample first, then its nearest reference images.</summary>
    public static void SaveNeighbours(IDataset generated, IDataset reference, int[][] neighbours, string path, int scale = 2)
    {
        using var scope = NewDisposeScope();
        var columns = 1 + neighbours.Max(row => row.Length);
        var tiles = new List<Tensor>();
        for (var i = 0; i < neighbours.Length; i++)
        {
            tiles.Add(DatasetImages.Read(generated, i, 1));
            foreach (var j in neighbours[i]) tiles.Add(DatasetImages.Read(reference, j, 1));
            for (var pad = neighbours[i].Length; pad < columns - 1; pad++) tiles.Add(full([1, generated.Channels, generated.Height, generated.Width], 1f));
        }
        ImageGrid.SavePng(cat(tiles, 0), path, new GridOptions { Columns = columns, Scale = scale });
    }

    /// <summary>A grid of the first (up to) 64 images.</summary>
    public static void SaveGrid(IDataset images, string path, int scale = 2)
    {
        using var scope = NewDisposeScope();
        var batch = Batches(images, Math.Min(64, images.Count), 64).Select(b => b.clone()).First();
        ImageGrid.SavePng(batch, path, new GridOptions { Scale = scale });
    }

    /// <summary>
    /// Scores <paramref name="generated"/> against <paramref name="reference"/>'s features and writes eval.json, report.md,
    /// the sample grid and the memorisation check into <paramref name="outputDirectory"/>.
    /// </summary>
    public static EvaluationRecord Score(IFeatureExtractor extractor, IDataset generated, FeatureSet reference, IDataset referenceImages,
        EvaluationRecord description, string outputDirectory, int batchSize, QualityOptions? quality = null, IProgress<EvaluationProgress>? progress = null,
        ClassChoice? requested = null)
    {
        var clock = Stopwatch.StartNew();
        var features = Features(extractor, generated, generated.Count, batchSize, progress);
        var metrics = SampleQuality.Compute(reference, features, quality);
        if (requested is not null && features.Probabilities is not null)
            description = description with { ClassAccuracy = ClassAccuracy(features, Enumerable.Range(0, generated.Count).Select(i => requested.LabelOf(i))) };
        Directory.CreateDirectory(outputDirectory);
        SaveGrid(generated, Path.Combine(outputDirectory, GridFile));
        SaveNeighbours(generated, referenceImages, NearestNeighbours(reference, features), Path.Combine(outputDirectory, NeighboursFile));
        var record = description with
        {
            Metrics = metrics,
            Extractor = extractor.Id,
            ExtractorSha256 = extractor.WeightsHash,
            ScoreSeconds = description.ScoreSeconds + clock.Elapsed.TotalSeconds,
        };
        ConfigJson.Save(record, Path.Combine(outputDirectory, JsonFile));
        AtomicFile.WriteAllBytes(Path.Combine(outputDirectory, ReportFile), Encoding.UTF8.GetBytes(Report(record)));
        return record;
    }

    /// <summary>The share of images whose most probable class under the feature network's head is the one <paramref name="labels"/> asked for.</summary>
    public static double ClassAccuracy(FeatureSet features, IEnumerable<long> labels)
    {
        var probabilities = features.Probabilities ?? throw new ArgumentException("The feature network has no class head.");
        var k = features.ClassCount;
        var correct = 0;
        var i = 0;
        foreach (var label in labels)
        {
            var row = probabilities.AsSpan(i * k, k);
            var best = 0;
            for (var c = 1; c < k; c++) if (row[c] > row[best]) best = c;
            if (best == label) correct++;
            i++;
        }
        return (double)correct / i;
    }

    /// <summary>The rows of an evaluation: its metrics and, when classes were asked for, the share classified as asked.</summary>
    public static IReadOnlyList<(string Name, string Value)> Rows(EvaluationRecord r)
    {
        var rows = Rows(r.Metrics).ToList();
        if (r.ClassAccuracy is { } accuracy) rows.Insert(rows.Count - 1, ("Classified as the requested class", accuracy.ToString("P1", CultureInfo.InvariantCulture)));
        return rows;
    }

    /// <summary>The metrics as (name, value) rows, for the console table and the report.</summary>
    public static IReadOnlyList<(string Name, string Value)> Rows(QualityReport m)
    {
        static string F(double v, string format = "F4") => v.ToString(format, CultureInfo.InvariantCulture);
        var rows = new List<(string, string)>
        {
            ("FID", F(m.Fid)),
            ("KID", $"{F(m.KidMean, "F5")} ± {F(m.KidStd, "F5")}"),
        };
        if (m.InceptionScoreMean is { } isMean) rows.Add(("Inception-style score", $"{F(isMean, "F3")} ± {F(m.InceptionScoreStd ?? 0, "F3")}"));
        rows.Add(("Precision (k = 3)", F(m.Precision)));
        rows.Add(("Recall (k = 3)", F(m.Recall)));
        rows.Add(("Images (generated / reference)", $"{m.GeneratedCount} / {m.ReferenceCount}"));
        return rows;
    }

    /// <summary>The Markdown report of one evaluation.</summary>
    public static string Report(EvaluationRecord r)
    {
        var b = new StringBuilder();
        b.AppendLine("# Sample quality").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"- Source: `{r.Source}`");
        if (r.Sampler is not null)
            b.AppendLine(CultureInfo.InvariantCulture, $"- Sampler: {r.Sampler}, {r.Steps} steps, x̂0 handling `{r.Clip}`, seed {r.Seed}");
        if (r.Classes is not null) b.AppendLine(CultureInfo.InvariantCulture, $"- Classes: {r.Classes}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Reference: {r.Reference}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Feature network: `{r.Extractor}` (weights SHA-256 `{r.ExtractorSha256}`)");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Pixels: {r.Pixels}");
        b.AppendLine(CultureInfo.InvariantCulture, $"- Wall time: sampling {r.SampleSeconds:F1} s, features and metrics {r.ScoreSeconds:F1} s").AppendLine();
        b.AppendLine("| metric | value |").AppendLine("|---|---|");
        foreach (var (name, value) in Rows(r)) b.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {value} |");
        b.AppendLine().AppendLine("FID is biased by N: quote it beside the real-data floor at the same N (`ddpm eval --dataset NAME --split test --count N`).");
        b.AppendLine("KID is the unbiased MMD² (not multiplied by 1000).").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"## Samples").AppendLine().AppendLine($"![samples]({GridFile})").AppendLine();
        b.AppendLine("## Memorisation check").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"Each row: a sample, then its {NeighboursPerSample} nearest reference images in feature space.").AppendLine();
        b.AppendLine(CultureInfo.InvariantCulture, $"![nearest neighbours]({NeighboursFile})");
        return b.ToString();
    }

    private sealed class Progress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
