namespace Ddpm.Checkpoints;

/// <summary>
/// One setting of a run changed when it was resumed, kept in <see cref="RunConfig.History"/> so that <c>config.json</c>
/// tells how the run was really trained (e.g. 6800 steps in fp32, the rest in bf16).
/// </summary>
/// <param name="Step">Optimizer steps completed when the change took effect.</param>
/// <param name="Time">When the run was resumed with the change (UTC).</param>
/// <param name="Setting">The setting, as its path in <c>config.json</c> (e.g. <c>training.precision</c>).</param>
/// <param name="From">The value before, as written in <c>config.json</c> (null: none).</param>
/// <param name="To">The value after.</param>
public sealed record ConfigChange(long Step, DateTimeOffset Time, string Setting, string? From, string? To);
