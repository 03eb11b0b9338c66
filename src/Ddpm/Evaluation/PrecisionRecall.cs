using Ddpm.Runtime;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Improved precision and recall of a generated set against a reference set.</summary>
public sealed record PrecisionRecallResult(double Precision, double Recall);

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls around its
/// feature vectors whose radius is the distance to the k-th nearest neighbour within the set (excluding the point
/// itself); precision is the share of generated vectors inside the reference manifold, recall the share of reference
/// vectors inside the generated one. Euclidean distances in float64, in row blocks.
/// </summary>
public static class PrecisionRecall
{
    private const int BlockRows = 256;

    /// <summary>Precision and recall with neighbour <paramref name="k"/> (the paper's 3).</summary>
    public static PrecisionRecallResult Compute(FeatureSet reference, FeatureSet generated, int k = 3)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(generated);
        if (reference.Dimension != generated.Dimension)
            throw new ArgumentException($"Feature dimensions differ: {reference.Dimension} and {generated.Dimension}.", nameof(generated));
        if (reference.Count <= k || generated.Count <= k)
            throw new ArgumentException($"Precision and recall with k = {k} need more than {k} images per set, got {reference.Count} and {generated.Count}.");
        using var scope = NewDisposeScope();
        var real = reference.FeaturesTensor(ScalarType.Float64);
        var fake = generated.FeaturesTensor(ScalarType.Float64);
        var realRadii = Radii(real, k);
        var fakeRadii = Radii(fake, k);
        return new PrecisionRecallResult(Coverage(fake, real, realRadii), Coverage(real, fake, fakeRadii));
    }

    /// <summary>Distance of each row of <paramref name="points"/> to its k-th nearest other row.</summary>
    /// <remarks>
    /// Each block ends with <see cref="CpuTuning.EndStep"/> (nothing unless the host applied <see cref="CpuTuning"/>): with
    /// the tuned allocator keeping large blocks in the heap, the finalizer-owned Scalars of a block pin the freed
    /// distance matrices and the heap grew by about 300 MB/s (60,000 reference images: past 22 GB in 75 s); collected
    /// after every block it peaks at 1.7 GB and the whole computation takes a tenth of the untuned time.
    /// </remarks>
    public static Tensor Radii(Tensor points, int k)
    {
        var n = points.shape[0];
        var radii = empty(n, dtype: ScalarType.Float64);
        using var norms = SquaredNorms(points);
        for (long start = 0; start < n; start += BlockRows)
        {
            using (NewDisposeScope())
            {
                var rows = points.narrow(0, start, Math.Min(BlockRows, n - start));
                var d = Distances(rows, points, norms);
                // The k+1 smallest include the point itself (distance 0); the last of them is the k-th neighbour.
                var (values, _) = d.topk(k + 1, dim: 1, largest: false, sorted: true);
                radii.narrow(0, start, rows.shape[0]).copy_(values.select(1, k));
            }
            CpuTuning.EndStep();
        }
        return radii;
    }

    /// <summary>Share of <paramref name="queries"/> within the radius of at least one of <paramref name="centres"/>.</summary>
    public static double Coverage(Tensor queries, Tensor centres, Tensor radii)
    {
        var n = queries.shape[0];
        long inside = 0;
        using var norms = SquaredNorms(centres);
        for (long start = 0; start < n; start += BlockRows)
        {
            using (NewDisposeScope())
            {
                var rows = queries.narrow(0, start, Math.Min(BlockRows, n - start));
                var d = Distances(rows, centres, norms);
                inside += d.le(radii.unsqueeze(0)).any(1).sum().item<long>();
            }
            CpuTuning.EndStep();
        }
        return (double)inside / n;
    }

    /// <summary>‖y‖² of every row of <paramref name="b"/> as a row [1, n], computed once per set rather than once per block.</summary>
    private static Tensor SquaredNorms(Tensor b) => b.square().sum(1).unsqueeze(0);

    /// <summary>Euclidean distances [a, b] via ‖x‖² + ‖y‖² − 2x·y, clamped at 0; <paramref name="bb"/> is <see cref="SquaredNorms"/> of b.</summary>
    private static Tensor Distances(Tensor a, Tensor b, Tensor bb)
    {
        var aa = a.square().sum(1, keepdim: true);
        return (aa + bb - 2 * a.matmul(b.mT)).clamp_min_(0).sqrt_();
    }
}
