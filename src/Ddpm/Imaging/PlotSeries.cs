namespace Ddpm.Imaging;

/// <summary>One line of a <see cref="Plots.Lines"/> chart: points (X[i], Y[i]), named <see cref="Label"/> in the legend.</summary>
/// <param name="Label">Legend text; empty for none.</param>
/// <param name="X">x coordinates, as many as <paramref name="Y"/>.</param>
/// <param name="Y">y coordinates.</param>
public sealed record PlotSeries(string Label, double[] X, double[] Y);
