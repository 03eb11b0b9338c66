using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// Importance sampling of timesteps for the bound (Nichol &amp; Dhariwal 2021, Eq. 17; improved-diffusion's
/// <c>LossSecondMomentResampler</c>): each timestep keeps its last <see cref="HistoryLength"/> losses; once every timestep
/// has them, t is drawn with p_t ∝ √E[L_t²] mixed with <see cref="UniformShare"/> of the uniform distribution, and each
/// loss is weighted by 1/(T·p_t) so that the weighted objective's expectation equals the uniform one's. Until then t is
/// uniform with weight 1. The history is part of a run's state (<see cref="Checkpoints.TrainingState"/>) so a resumed run
/// draws the same timesteps.
/// </summary>
public sealed class LossSecondMomentSampler
{
    /// <summary>Losses kept per timestep. improved-diffusion: 10.</summary>
    public const int HistoryLength = 10;

    /// <summary>Share of the uniform distribution mixed into p. improved-diffusion: 0.001.</summary>
    public const double UniformShare = 0.001;

    private readonly double[] history;
    private readonly int[] counts;

    /// <summary>An empty history over <paramref name="timesteps"/> timesteps.</summary>
    public LossSecondMomentSampler(int timesteps)
    {
        if (timesteps < 1) throw new ArgumentOutOfRangeException(nameof(timesteps), timesteps, "need at least one timestep.");
        Timesteps = timesteps;
        history = new double[timesteps * HistoryLength];
        counts = new int[timesteps];
    }

    /// <summary>T.</summary>
    public int Timesteps { get; }

    /// <summary>Whether every timestep has a full history (before that, draws are uniform).</summary>
    public bool WarmedUp => counts.All(c => c == HistoryLength);

    /// <summary>p_t for every timestep: uniform before <see cref="WarmedUp"/>, else ∝ √E[L_t²] mixed with the uniform share.</summary>
    public double[] Probabilities()
    {
        var p = new double[Timesteps];
        if (!WarmedUp)
        {
            Array.Fill(p, 1.0 / Timesteps);
            return p;
        }
        for (var t = 0; t < Timesteps; t++)
        {
            double sum = 0;
            for (var k = 0; k < HistoryLength; k++) sum += history[t * HistoryLength + k] * history[t * HistoryLength + k];
            p[t] = Math.Sqrt(sum / HistoryLength);
        }
        var total = p.Sum();
        for (var t = 0; t < Timesteps; t++) p[t] = p[t] / total * (1 - UniformShare) + UniformShare / Timesteps;
        return p;
    }

    /// <summary>
    /// Draws <paramref name="batch"/> timesteps (int64 [B]) from <paramref name="generator"/> and their weights 1/(T·p_t)
    /// (float32 [B]). Before the history is full this is the uniform draw of Algorithm 1 with weights 1.
    /// </summary>
    public (Tensor Timesteps, Tensor Weights) Sample(int batch, Generator generator)
    {
        if (!WarmedUp) return (randint(0, Timesteps, [batch], dtype: ScalarType.Int64, generator: generator), ones(batch));
        var p = Probabilities();
        using var probabilities = tensor(p, dtype: ScalarType.Float64);
        var t = multinomial(probabilities, batch, replacement: true, generator: generator);
        using var picked = probabilities[t];
        var weights = (1.0 / (Timesteps * picked)).to(ScalarType.Float32);
        return (t, weights);
    }

    /// <summary>Records each example's loss at its timestep (the oldest of a full history is dropped).</summary>
    public void Update(IReadOnlyList<long> timesteps, IReadOnlyList<double> losses)
    {
        if (timesteps.Count != losses.Count) throw new ArgumentException("one loss per timestep is needed.", nameof(losses));
        for (var i = 0; i < timesteps.Count; i++)
        {
            var t = checked((int)timesteps[i]);
            var row = t * HistoryLength;
            if (counts[t] == HistoryLength)
            {
                Array.Copy(history, row + 1, history, row, HistoryLength - 1);
                history[row + HistoryLength - 1] = losses[i];
            }
            else
            {
                history[row + counts[t]++] = losses[i];
            }
        }
    }

    /// <summary>The history as saved: every timestep's <see cref="HistoryLength"/> slots, and how many are filled.</summary>
    public (double[] History, int[] Counts) State => ((double[])history.Clone(), (int[])counts.Clone());

    /// <summary>Restores a saved <see cref="State"/>.</summary>
    /// <exception cref="ArgumentException">A state of another length or with a count outside 0..<see cref="HistoryLength"/>.</exception>
    public void Restore(double[] savedHistory, int[] savedCounts)
    {
        ArgumentNullException.ThrowIfNull(savedHistory);
        ArgumentNullException.ThrowIfNull(savedCounts);
        if (savedHistory.Length != history.Length || savedCounts.Length != counts.Length || savedCounts.Any(c => c is < 0 or > HistoryLength))
            throw new ArgumentException($"the saved loss history does not fit {Timesteps} timesteps of {HistoryLength} losses.");
        savedHistory.CopyTo(history, 0);
        savedCounts.CopyTo(counts, 0);
    }
}
