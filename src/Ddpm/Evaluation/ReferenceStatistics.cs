using System.Text;

namespace Ddpm.Evaluation;

/// <summary>
/// The on-disk cache of a data-set split's features: one safetensors <see cref="FeatureSet"/> per data set, split, count,
/// extractor id and weights hash, so new extractor weights never reuse stale statistics.
/// </summary>
public static class ReferenceStatistics
{
    /// <summary>
    /// The cached features of <paramref name="count"/> images of <paramref name="dataset"/>'s <paramref name="split"/>
    /// under <paramref name="extractor"/>, or, when absent or stale, the result of <paramref name="compute"/> (which must
    /// use that extractor), saved for next time.
    /// </summary>
    public static FeatureSet GetOrCompute(string cacheDirectory, string dataset, string split, int count, IFeatureExtractor extractor, Func<FeatureSet> compute)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(compute);
        var path = CachePath(cacheDirectory, dataset, split, count, extractor);
        if (File.Exists(path))
        {
            try
            {
                var cached = FeatureSet.Load(path);
                if (cached.Count == count && cached.ExtractorId == extractor.Id && cached.WeightsHash == extractor.WeightsHash
                    && cached.Dimension == extractor.FeatureDimension)
                    return cached;
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or System.Text.Json.JsonException)
            {
                // A damaged cache file is recomputed below.
            }
        }
        var set = compute();
        if (set.Count != count)
            throw new InvalidOperationException($"The reference computation returned {set.Count} feature vectors, expected {count}.");
        if (set.ExtractorId != extractor.Id || set.WeightsHash != extractor.WeightsHash)
            throw new InvalidOperationException($"The reference computation used another extractor ({set.ExtractorId}) than {extractor.Id}.");
        set.Save(path);
        return set;
    }

    /// <summary>
    /// The cache file of a split: <c>{dataset}-{split}-{count}-{extractor id}-{first 16 hex digits of the weights hash}.safetensors</c>
    /// (the full hash is checked from the file's metadata).
    /// </summary>
    public static string CachePath(string cacheDirectory, string dataset, string split, int count, IFeatureExtractor extractor)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(cacheDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataset);
        ArgumentException.ThrowIfNullOrWhiteSpace(split);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentNullException.ThrowIfNull(extractor);
        var hash = extractor.WeightsHash.Length > 16 ? extractor.WeightsHash[..16] : extractor.WeightsHash;
        return Path.Combine(cacheDirectory, $"{Safe(dataset)}-{Safe(split)}-{count}-{Safe(extractor.Id)}-{Safe(hash)}.safetensors");
    }

    private static string Safe(string part)
    {
        var builder = new StringBuilder(part.Length);
        foreach (var c in part) builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return builder.ToString();
    }
}
