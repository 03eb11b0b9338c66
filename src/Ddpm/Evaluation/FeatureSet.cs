using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Ddpm.Runtime;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// The features (and class probabilities) of one image set, on the CPU in float32, row-major: what every metric of
/// <see cref="SampleQuality"/> reads, and what <see cref="ReferenceStatistics"/> caches. Saved as a safetensors file
/// (tensors <c>features</c> and <c>probabilities</c>, the extractor's id and weights hash in its metadata).
/// </summary>
public sealed class FeatureSet
{
    private const string FeaturesKey = "features";
    private const string ProbabilitiesKey = "probabilities";

    /// <summary>A set from row-major arrays: <paramref name="features"/> is count × dimension, <paramref name="probabilities"/> count × classes.</summary>
    public FeatureSet(float[] features, int dimension, float[]? probabilities = null, int classCount = 0, string? extractorId = null, string? weightsHash = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (features.Length % dimension != 0)
            throw new ArgumentException($"{features.Length} feature values are not a whole number of {dimension}-d rows.", nameof(features));
        Features = features;
        Dimension = dimension;
        Count = features.Length / dimension;
        if (probabilities is not null)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
            if (probabilities.Length != (long)Count * classCount)
                throw new ArgumentException($"{probabilities.Length} probabilities for {Count} rows of {classCount} classes.", nameof(probabilities));
            Probabilities = probabilities;
            ClassCount = classCount;
        }
        ExtractorId = extractorId;
        WeightsHash = weightsHash;
    }

    /// <summary>Features, <see cref="Count"/> × <see cref="Dimension"/>, row-major.</summary>
    public float[] Features { get; }

    /// <summary>Class probabilities, <see cref="Count"/> × <see cref="ClassCount"/>, row-major; null without a class head.</summary>
    public float[]? Probabilities { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Length of a feature vector.</summary>
    public int Dimension { get; }

    /// <summary>Number of classes of <see cref="Probabilities"/>; 0 when there are none.</summary>
    public int ClassCount { get; }

    /// <summary>The <see cref="IFeatureExtractor.Id"/> that computed the set, when known.</summary>
    public string? ExtractorId { get; }

    /// <summary>The <see cref="IFeatureExtractor.WeightsHash"/> of the extractor that computed the set, when known.</summary>
    public string? WeightsHash { get; }

    /// <summary>The features as a new CPU tensor [Count, Dimension] of <paramref name="dtype"/> (float64 for statistics).</summary>
    public Tensor FeaturesTensor(ScalarType dtype = ScalarType.Float32)
    {
        using var f = tensor(Features, [Count, Dimension]);
        return f.to(dtype);
    }

    /// <summary>The probabilities as a new CPU tensor [Count, ClassCount] of <paramref name="dtype"/>, or null.</summary>
    public Tensor? ProbabilitiesTensor(ScalarType dtype = ScalarType.Float32)
    {
        if (Probabilities is null) return null;
        using var p = tensor(Probabilities, [Count, ClassCount]);
        return p.to(dtype);
    }

    /// <summary>Rows <paramref name="start"/>..start+count−1 as a new set (e.g. the first N of a larger cached set).</summary>
    public FeatureSet Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (start + count > Count) throw new ArgumentOutOfRangeException(nameof(count), count, $"Rows {start}..{start + count - 1} exceed the set's {Count}.");
        var features = Features.AsSpan(start * Dimension, count * Dimension).ToArray();
        var probabilities = Probabilities?.AsSpan(start * ClassCount, count * ClassCount).ToArray();
        return new FeatureSet(features, Dimension, probabilities, ClassCount, ExtractorId, WeightsHash);
    }

    /// <summary>
    /// Runs <paramref name="extractor"/> over <paramref name="batches"/> (float32 [n, C, H, W] in [−1, 1]; the caller keeps
    /// ownership of each batch) and gathers the results on the CPU. <paramref name="imagesDone"/> receives the running count.
    /// </summary>
    public static FeatureSet Compute(IFeatureExtractor extractor, IEnumerable<Tensor> batches, IProgress<int>? imagesDone = null)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(batches);
        var features = new List<float[]>();
        var probabilities = new List<float[]>();
        var count = 0;
        foreach (var batch in batches)
        {
            CpuTuning.BeginStep();
            using (NewDisposeScope())
            using (var result = extractor.Extract(batch))
            {
                features.Add(ToArray(result.Features, extractor.FeatureDimension, "features"));
                if (extractor.ClassCount is { } k)
                {
                    if (result.Probabilities is null) throw new InvalidOperationException($"Extractor {extractor.Id} declares {k} classes but returned no probabilities.");
                    probabilities.Add(ToArray(result.Probabilities, k, "probabilities"));
                }
            }
            CpuTuning.EndStep();
            count += (int)batch.shape[0];
            imagesDone?.Report(count);
        }
        var classes = extractor.ClassCount ?? 0;
        return new FeatureSet(Concat(features), extractor.FeatureDimension,
            classes > 0 ? Concat(probabilities) : null, classes, extractor.Id, extractor.WeightsHash);
    }

    private static float[] ToArray(Tensor t, int width, string what)
    {
        if (t.dim() != 2 || t.shape[1] != width)
            throw new InvalidOperationException($"The extractor returned {what} of shape [{string.Join(", ", t.shape)}], expected [n, {width}].");
        using var cpu = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return cpu.data<float>().ToArray();
    }

    private static float[] Concat(List<float[]> parts)
    {
        var result = new float[parts.Sum(p => (long)p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }
        return result;
    }

    /// <summary>Writes the set as a safetensors file (float32 tensors; the extractor's id and hash as metadata).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var metadata = new JsonObject
        {
            ["format"] = "ddpm-feature-set",
            ["extractor"] = ExtractorId ?? "",
            ["weights_sha256"] = WeightsHash ?? "",
        };
        var header = new JsonObject { ["__metadata__"] = metadata };
        long offset = 0;
        void Entry(string name, int rows, int columns)
        {
            var bytes = (long)rows * columns * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(rows, columns),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        Entry(FeaturesKey, Count, Dimension);
        if (Probabilities is not null) Entry(ProbabilitiesKey, Count, ClassCount);
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8; // safetensors pads the header with spaces to a multiple of 8
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        using (var stream = File.Create(temporary))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, padded);
            stream.Write(length);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            WriteFloats(stream, Features);
            if (Probabilities is not null) WriteFloats(stream, Probabilities);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a set written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a feature set.</exception>
    public static FeatureSet Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        var headerLength = BinaryPrimitives.ReadInt64LittleEndian(length);
        if (headerLength <= 0 || headerLength > 1 << 20) throw new InvalidDataException($"{path}: not a safetensors feature set (header length {headerLength}).");
        var json = new byte[headerLength];
        stream.ReadExactly(json);
        var header = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException($"{path}: empty safetensors header.");
        var metadata = header["__metadata__"]?.AsObject();
        var dataStart = 8 + headerLength;
        (float[] Data, int Columns)? Read(string name)
        {
            if (header[name] is not JsonObject entry) return null;
            if ((string?)entry["dtype"] != "F32") throw new InvalidDataException($"{path}: tensor {name} is not F32.");
            var shape = entry["shape"]!.AsArray().Select(n => (long)n!).ToArray();
            var offsets = entry["data_offsets"]!.AsArray().Select(n => (long)n!).ToArray();
            if (shape.Length != 2 || offsets[1] - offsets[0] != shape[0] * shape[1] * sizeof(float))
                throw new InvalidDataException($"{path}: tensor {name} has a bad shape or size.");
            var data = new float[shape[0] * shape[1]];
            stream.Position = dataStart + offsets[0];
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan()));
            return (data, (int)shape[1]);
        }
        var features = Read(FeaturesKey) ?? throw new InvalidDataException($"{path}: no '{FeaturesKey}' tensor.");
        var probabilities = Read(ProbabilitiesKey);
        static string? NonEmpty(JsonNode? n) => n is null || string.IsNullOrEmpty((string?)n) ? null : (string?)n;
        return new FeatureSet(features.Data, features.Columns, probabilities?.Data, probabilities?.Columns ?? 0,
            NonEmpty(metadata?["extractor"]), NonEmpty(metadata?["weights_sha256"]));
    }

    private static void WriteFloats(Stream stream, float[] values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Feature sets are written on little-endian machines.");
        const int chunk = 1 << 20;
        for (var i = 0; i < values.Length; i += chunk)
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan(i, Math.Min(chunk, values.Length - i))));
    }

}
