using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// The Inception-style score exp E_x[KL(p(y|x) ‖ p(y))] (Salimans et al. 2016), with the marginal p(y) taken within each
/// of <c>splits</c> consecutive splits, mean ± std over splits, in float64.
/// </summary>
/// <remarks>
/// As the original code (improved-gan's <c>inception_score.py</c>) and torch-fidelity: the rows are split in order
/// (torchmetrics shuffles them first), and the std is the population one over splits (ddof 0, <c>np.std</c>;
/// torchmetrics' <c>Tensor.std()</c> uses ddof 1). With the Fashion-MNIST classifier it is a 10-class score (at most
/// 10), not comparable to published Inception Scores, which need the 1008-class Inception-v3 head.
/// </remarks>
public static class InceptionScore
{
    /// <summary>Score of class probabilities [N, K] (rows summing to 1).</summary>
    public static MeanStd Compute(Tensor probabilities, int splits = 10)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentOutOfRangeException.ThrowIfLessThan(splits, 1);
        var n = probabilities.shape[0];
        if (n < splits) throw new ArgumentException($"The score needs at least one image per split: {n} images for {splits} splits.", nameof(probabilities));
        using var scope = NewDisposeScope();
        var p = probabilities.to(ScalarType.Float64);
        var scores = new double[splits];
        for (var k = 0; k < splits; k++)
        {
            // np.array_split: the first n % splits parts get one more row.
            var start = k * (n / splits) + Math.Min(k, n % splits);
            var length = n / splits + (k < n % splits ? 1 : 0);
            using var inner = NewDisposeScope();
            var part = p.narrow(0, start, length);
            var marginal = part.mean([0], keepdim: true);
            // 0·log 0 = 0: xlogy, as scipy's entropy and torch-fidelity.
            var kl = (part.xlogy(part) - part.xlogy(marginal)).sum(1).mean();
            scores[k] = Math.Exp(kl.item<double>());
        }
        var mean = scores.Average();
        return new MeanStd(mean, Math.Sqrt(scores.Sum(s => (s - mean) * (s - mean)) / splits));
    }
}
