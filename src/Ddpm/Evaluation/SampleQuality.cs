using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Every sample-quality metric of a generated feature set against a reference one.</summary>
public static class SampleQuality
{
    /// <summary>
    /// FID (<see cref="FrechetDistance"/>), KID (<see cref="KernelInceptionDistance"/>), the Inception-style score of the
    /// generated set when both sets carry probabilities (<see cref="InceptionScore"/>), and precision/recall
    /// (<see cref="PrecisionRecall"/>).
    /// </summary>
    public static QualityReport Compute(FeatureSet reference, FeatureSet generated, QualityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(generated);
        options ??= new QualityOptions();
        options.Validate();
        if (reference.ExtractorId is { } a && generated.ExtractorId is { } b && (a != b || reference.WeightsHash != generated.WeightsHash))
            throw new ArgumentException($"The feature sets come from different extractors ({a} and {b}, or different weights).");
        var fid = FrechetDistance.Compute(reference, generated);
        var kid = KernelInceptionDistance.Compute(reference, generated, options.KidSubsets, options.KidSubsetSize, options.Seed);
        MeanStd? score = null;
        if (generated.Probabilities is not null)
        {
            using var p = generated.ProbabilitiesTensor(ScalarType.Float64)!;
            score = InceptionScore.Compute(p, Math.Min(options.IsSplits, generated.Count));
        }
        var pr = PrecisionRecall.Compute(reference, generated, options.PrecisionRecallK);
        return new QualityReport(reference.Count, generated.Count, fid, kid.Mean, kid.Std, score?.Mean, score?.Std, pr.Precision, pr.Recall);
    }
}
