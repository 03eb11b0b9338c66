using Ddpm.Evaluation;
using static TorchSharp.torch;

namespace Ddpm.Tests.Evaluation;

/// <summary>Feature sets and matrices generated from fixed seeds for the metric tests.</summary>
internal static class EvaluationData
{
    /// <summary><paramref name="count"/> draws of N(<paramref name="mean"/>, L Lᵀ) as a feature set (float32 rows).</summary>
    public static FeatureSet Gaussian(int count, double[] mean, Tensor choleskyFactor, long seed)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        var d = mean.Length;
        var z = randn([count, d], dtype: ScalarType.Float64, generator: g);
        var x = z.matmul(choleskyFactor.to(ScalarType.Float64).mT) + tensor(mean);
        return FromTensor(x);
    }

    /// <summary>Standard normal features [count, dimension].</summary>
    public static FeatureSet StandardNormal(int count, int dimension, long seed, double shift = 0)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)seed);
        return FromTensor(randn([count, dimension], dtype: ScalarType.Float64, generator: g) + shift);
    }

    public static FeatureSet FromTensor(Tensor x, Tensor? probabilities = null)
    {
        using var f = x.to(ScalarType.Float32).contiguous();
        using var p = probabilities?.to(ScalarType.Float32).contiguous();
        return new FeatureSet(f.data<float>().ToArray(), (int)x.shape[1], p?.data<float>().ToArray(), p is null ? 0 : (int)p.shape[1]);
    }

    /// <summary>A random rotation (the Q of a QR decomposition of a Gaussian matrix).</summary>
    public static Tensor Rotation(int d, long seed)
    {
        using var g = new Generator((ulong)seed);
        using var a = randn([d, d], dtype: ScalarType.Float64, generator: g);
        var (q, r) = linalg.qr(a);
        r.Dispose();
        return q;
    }

    /// <summary>Q diag(values) Qᵀ.</summary>
    public static Tensor Spectral(Tensor q, double[] values)
    {
        using var diagonal = diag(tensor(values));
        return q.matmul(diagonal).matmul(q.mT);
    }

    /// <summary>A row-major double copy of a 2-d tensor.</summary>
    public static double[,] ToArray(Tensor m)
    {
        using var c = m.to(ScalarType.Float64).contiguous();
        var flat = c.data<double>().ToArray();
        var rows = (int)m.shape[0];
        var cols = (int)m.shape[1];
        var result = new double[rows, cols];
        for (var i = 0; i < rows; i++)
        for (var j = 0; j < cols; j++)
            result[i, j] = flat[i * cols + j];
        return result;
    }
}
