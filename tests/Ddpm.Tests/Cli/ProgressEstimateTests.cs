using Ddpm.Cli;

namespace Ddpm.Tests.Cli;

/// <summary>The progress line's percentage and ETA, with and without a time limit.</summary>
public sealed class ProgressEstimateTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void Without_a_limit_the_fraction_is_in_steps_and_the_eta_follows_the_rate()
    {
        // 100 of 1000 steps in one minute: 9 minutes left.
        var e = ProgressEstimate.Compute(100, 1000, 0, Minute);
        Assert.Equal(0.1, e.Fraction, 12);
        Assert.Equal(9 * Minute, e.Remaining);
    }

    [Fact]
    public void When_the_time_limit_ends_the_run_first_fraction_and_eta_follow_it()
    {
        // The main job's case: 800,000 steps at 100 a minute would take 133 hours; a 10-minute limit ends it.
        var e = ProgressEstimate.Compute(200, 800_000, 0, 2 * Minute, 10 * Minute);
        Assert.Equal(0.2, e.Fraction, 12);
        Assert.Equal(8 * Minute, e.Remaining);
        var end = ProgressEstimate.Compute(1000, 800_000, 0, 11 * Minute, 10 * Minute);
        Assert.Equal(1.0, end.Fraction);
        Assert.Equal(TimeSpan.Zero, end.Remaining);
    }

    [Fact]
    public void When_the_steps_end_first_the_limit_changes_nothing()
    {
        // 100 of 200 steps in one minute: one minute left, well inside a 10-minute limit.
        var limited = ProgressEstimate.Compute(100, 200, 0, Minute, 10 * Minute);
        var unlimited = ProgressEstimate.Compute(100, 200, 0, Minute);
        Assert.Equal(unlimited, limited);
        Assert.Equal(0.5, limited.Fraction, 12);
        Assert.Equal(Minute, limited.Remaining);
    }

    [Fact]
    public void A_resumed_run_measures_its_rate_from_where_it_started()
    {
        // Resumed at step 600 of 1000, 100 steps in a minute: 3 minutes left, 70 % done.
        var e = ProgressEstimate.Compute(700, 1000, 600, Minute);
        Assert.Equal(0.7, e.Fraction, 12);
        Assert.Equal(3 * Minute, e.Remaining);
    }

    [Fact]
    public void Before_any_rate_is_known_a_limit_still_gives_an_eta()
    {
        Assert.Null(ProgressEstimate.Compute(0, 1000, 0, TimeSpan.Zero).Remaining);
        var e = ProgressEstimate.Compute(0, 1000, 0, TimeSpan.Zero, 10 * Minute);
        Assert.Equal(0.0, e.Fraction);
        Assert.Equal(10 * Minute, e.Remaining);
    }
}
