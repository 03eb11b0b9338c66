namespace Ddpm.Training;

/// <summary>The loss became NaN or infinite; the last checkpoint is intact.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(string message) : base(message) { }

    public TrainingDivergedException() { }

    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }
}
