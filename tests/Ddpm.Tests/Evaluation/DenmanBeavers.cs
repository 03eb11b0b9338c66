namespace Ddpm.Tests.Evaluation;

/// <summary>
/// A reference matrix square root in plain C# doubles, independent of libtorch: the Denman–Beavers iteration
/// Y₀ = A, Z₀ = I, Yₖ₊₁ = (Yₖ + Zₖ⁻¹)/2, Zₖ₊₁ = (Zₖ + Yₖ⁻¹)/2, Yₖ → A^{1/2} for A with eigenvalues off the closed negative
/// real axis (Higham 2008, Eq. 6.15), with Gauss–Jordan inverses.
/// </summary>
internal static class DenmanBeavers
{
    public static double TraceSqrt(double[,] a, int iterations = 60)
    {
        var n = a.GetLength(0);
        var y = (double[,])a.Clone();
        var z = Identity(n);
        for (var k = 0; k < iterations; k++)
        {
            var yInverse = Inverse(y);
            var zInverse = Inverse(z);
            for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
            {
                y[i, j] = 0.5 * (y[i, j] + zInverse[i, j]);
                z[i, j] = 0.5 * (z[i, j] + yInverse[i, j]);
            }
        }
        var trace = 0.0;
        for (var i = 0; i < n; i++) trace += y[i, i];
        return trace;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        var n = a.GetLength(0);
        var m = b.GetLength(1);
        var inner = a.GetLength(1);
        var c = new double[n, m];
        for (var i = 0; i < n; i++)
        for (var j = 0; j < m; j++)
        {
            var s = 0.0;
            for (var k = 0; k < inner; k++) s += a[i, k] * b[k, j];
            c[i, j] = s;
        }
        return c;
    }

    private static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (var i = 0; i < n; i++) m[i, i] = 1;
        return m;
    }

    private static double[,] Inverse(double[,] a)
    {
        var n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var inv = Identity(n);
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++)
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            for (var c = 0; c < n; c++)
            {
                (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
                (inv[col, c], inv[pivot, c]) = (inv[pivot, c], inv[col, c]);
            }
            var p = m[col, col];
            for (var c = 0; c < n; c++)
            {
                m[col, c] /= p;
                inv[col, c] /= p;
            }
            for (var r = 0; r < n; r++)
            {
                if (r == col) continue;
                var f = m[r, col];
                if (f == 0) continue;
                for (var c = 0; c < n; c++)
                {
                    m[r, c] -= f * m[col, c];
                    inv[r, c] -= f * inv[col, c];
                }
            }
        }
        return inv;
    }
}
