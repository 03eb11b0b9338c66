namespace Ddpm.Imaging;

/// <summary>One tick of a logarithmic loss axis: the loss value it marks and whether it is labelled.</summary>
/// <param name="Value">The (positive) value at the tick.</param>
/// <param name="IsMajor">True for a labelled tick.</param>
internal sealed record LogTick(double Value, bool IsMajor);
