namespace Ddpm.Training;

/// <summary>What one optimizer step measured.</summary>
/// <param name="Step">Steps completed after this one (1-based).</param>
/// <param name="Loss">L_simple averaged over the step's micro-batches.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="LearningRate">Learning rate used by this step.</param>
/// <param name="Images">Images this step trained on.</param>
/// <param name="Seconds">Wall time of the step.</param>
public sealed record StepMetrics(long Step, double Loss, double GradientNorm, double LearningRate, int Images, double Seconds)
{
    /// <summary>Training throughput of this step.</summary>
    public double ImagesPerSecond => Seconds > 0 ? Images / Seconds : 0;
}
