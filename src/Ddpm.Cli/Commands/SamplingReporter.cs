using System.Globalization;
using Ddpm.Sampling;

namespace Ddpm.Cli.Commands;

/// <summary>Shows a sampling run on the progress bar; <paramref name="row"/> offsets it for runs drawn one grid row at a time.</summary>
internal sealed class SamplingReporter(IProgressSink sink, int total, int row = 0) : IProgress<SamplingProgress>
{
    public void Report(SamplingProgress p) =>
        sink.Update(row + p.Fraction, string.Create(CultureInfo.InvariantCulture, $"{(row > 0 ? $"row {row + 1} " : "")}batch {p.Batch + 1}/{p.Batches} step {p.Step}/{p.Steps} ({total} images)"));
}
