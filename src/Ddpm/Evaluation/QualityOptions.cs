namespace Ddpm.Evaluation;

/// <summary>Settings of <see cref="SampleQuality.Compute"/>; the defaults are those of the metrics' usual implementations.</summary>
public sealed record QualityOptions
{
    /// <summary>KID subsets (Bińkowski et al. 2018; torchmetrics' and clean-fid's default 100).</summary>
    public int KidSubsets { get; init; } = 100;

    /// <summary>Largest KID subset; the size used is min(this, n, m) (torchmetrics and clean-fid: 1000).</summary>
    public int KidSubsetSize { get; init; } = 1000;

    /// <summary>Splits of the Inception-style score (Salimans et al. 2016: 10).</summary>
    public int IsSplits { get; init; } = 10;

    /// <summary>Neighbour k of precision and recall (Kynkäänniemi et al. 2019: 3).</summary>
    public int PrecisionRecallK { get; init; } = 3;

    /// <summary>Seed of the KID subsets.</summary>
    public long Seed { get; init; }

    /// <summary>Throws when a setting is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(KidSubsets, 1, nameof(KidSubsets));
        ArgumentOutOfRangeException.ThrowIfLessThan(KidSubsetSize, 2, nameof(KidSubsetSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(IsSplits, 1, nameof(IsSplits));
        ArgumentOutOfRangeException.ThrowIfLessThan(PrecisionRecallK, 1, nameof(PrecisionRecallK));
    }
}

/// <summary>
/// Every metric of one generated set against one reference set. KID is the unbiased MMD² (not multiplied by 1000);
/// the Inception-style score is null when the extractor has no class head.
/// </summary>
public sealed record QualityReport(
    int ReferenceCount,
    int GeneratedCount,
    double Fid,
    double KidMean,
    double KidStd,
    double? InceptionScoreMean,
    double? InceptionScoreStd,
    double Precision,
    double Recall);
