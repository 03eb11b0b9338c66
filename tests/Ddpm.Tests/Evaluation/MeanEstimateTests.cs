using Ddpm.Evaluation;

namespace Ddpm.Tests.Evaluation;

public sealed class MeanEstimateTests
{
    [Fact]
    public void Standard_error_is_the_sample_deviation_over_root_n()
    {
        // 1, 2, 3, 4: mean 2.5, sample variance (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, standard error √(5/3 / 4).
        var e = MeanEstimate.Of([1.0, 2.0, 3.0, 4.0]);
        Assert.Equal(2.5, e.Mean, 12);
        Assert.Equal(Math.Sqrt(5.0 / 12.0), e.StandardError, 12);
        Assert.Equal(4, e.Count);
        Assert.Equal("2.50 ± 0.65", e.ToString("F2"));
    }

    [Fact]
    public void One_value_has_no_error_and_none_is_refused()
    {
        Assert.Equal(new MeanEstimate(7, 0, 1), MeanEstimate.Of([7.0]));
        Assert.Throws<ArgumentException>(() => MeanEstimate.Of([]));
    }
}
