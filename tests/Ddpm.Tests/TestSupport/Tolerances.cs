namespace Ddpm.Tests.TestSupport;

/// <summary>Named tolerances shared by the tests.</summary>
internal static class Tolerances
{
    /// <summary>float64 schedule values against a formula evaluated independently.</summary>
    public const double Schedule = 1e-12;

    /// <summary>float32 tensor math against a float64 formula.</summary>
    public const double Float32 = 1e-5;

    /// <summary>The oracle x̂_0 / DDIM reconstructions demanded by the acceptance list.</summary>
    public const double Oracle = 1e-4;

    /// <summary>diffusers' scheduler tests: |Σ|x|| within 1e-2 and mean within 1e-3.</summary>
    public const double DiffusersSum = 1e-2;

    public const double DiffusersMean = 1e-3;
}
