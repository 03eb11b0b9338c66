namespace Ddpm.Training;

/// <summary>The loss became NaN or infinite; the last checkpoint is intact.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>The error, with <paramref name="message"/> saying at which step and what diverged.</summary>
    public TrainingDivergedException(string message) : base(message) { }

    /// <summary>The error with a generic message.</summary>
    public TrainingDivergedException() { }

    /// <summary>The error with <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    public TrainingDivergedException(string message, Exception inner) : base(message, inner) { }
}
