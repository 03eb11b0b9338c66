using System.Globalization;
using System.Text;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// The per-step metrics of a run: <c>metrics.csv</c> (step, loss, gradient norm, learning rate, images/s, training seconds)
/// and TensorBoard event files under <c>tensorboard/</c>. On resumption rows past the checkpoint's step are dropped,
/// so the file always describes the weights that exist.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    /// <summary>The CSV header.</summary>
    public const string Header = "step,loss,grad_norm,lr,images_per_sec,train_seconds";

    private readonly StreamWriter csv;
    private readonly SummaryWriter? tensorboard;

    /// <summary>Opens the log of <paramref name="runDirectory"/>, keeping only rows up to <paramref name="resumeStep"/>.</summary>
    public MetricsLog(string runDirectory, long resumeStep, bool tensorBoard = true)
    {
        CsvPath = Path.Combine(runDirectory, "metrics.csv");
        var kept = new List<string>();
        if (File.Exists(CsvPath))
        {
            foreach (var line in File.ReadLines(CsvPath).Skip(1))
            {
                var comma = line.IndexOf(',', StringComparison.Ordinal);
                if (comma > 0 && long.TryParse(line.AsSpan(0, comma), NumberStyles.None, CultureInfo.InvariantCulture, out var step) && step <= resumeStep)
                    kept.Add(line);
            }
        }
        var content = new StringBuilder(Header).Append('\n');
        foreach (var line in kept) content.Append(line).Append('\n');
        Imaging.AtomicFile.WriteAllBytes(CsvPath, Encoding.UTF8.GetBytes(content.ToString()));
        // Flushed every step, so the file can be followed while training runs (a line per step costs nothing).
        csv = new StreamWriter(new FileStream(CsvPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
        if (tensorBoard) tensorboard = utils.tensorboard.SummaryWriter(Path.Combine(runDirectory, "tensorboard"));
    }

    /// <summary>The CSV file.</summary>
    public string CsvPath { get; }

    /// <summary>Appends one step's metrics.</summary>
    public void Write(StepMetrics m, double trainSeconds)
    {
        csv.Write(string.Create(CultureInfo.InvariantCulture,
            $"{m.Step},{m.Loss:R},{m.GradientNorm:R},{m.LearningRate:R},{m.ImagesPerSecond:F2},{trainSeconds:F3}\n"));
        if (tensorboard is not null)
        {
            var step = (int)Math.Min(m.Step, int.MaxValue);
            tensorboard.add_scalar("train/loss", (float)m.Loss, step);
            tensorboard.add_scalar("train/grad_norm", (float)m.GradientNorm, step);
            tensorboard.add_scalar("train/lr", (float)m.LearningRate, step);
            tensorboard.add_scalar("train/images_per_sec", (float)m.ImagesPerSecond, step);
        }
    }

    /// <summary>Logs one scalar to TensorBoard (e.g. <c>eval/fid</c>), when TensorBoard logging is on.</summary>
    public void WriteScalar(string tag, double value, long step) =>
        tensorboard?.add_scalar(tag, (float)value, (int)Math.Min(step, int.MaxValue));

    /// <summary>Flushes the CSV to disk (called before every checkpoint).</summary>
    public void Flush() => csv.Flush();

    /// <summary>Reads a metrics file back as (step, loss) series.</summary>
    public static (List<long> Steps, List<double> Losses) ReadLoss(string csvPath)
    {
        var steps = new List<long>();
        var losses = new List<double>();
        foreach (var line in File.ReadLines(csvPath).Skip(1))
        {
            var parts = line.Split(',');
            if (parts.Length < 2) continue;
            if (long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var s)
                && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var l))
            {
                steps.Add(s);
                losses.Add(l);
            }
        }
        return (steps, losses);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        csv.Dispose();
    }
}
