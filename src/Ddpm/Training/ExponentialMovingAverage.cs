using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// Exponential moving average of a model's weights, θ_ema ← decay·θ_ema + (1 − decay)·θ (Ho et al. 2020, Appendix B),
/// kept in float32 in a second copy of the model used for sampling.
/// </summary>
public sealed class ExponentialMovingAverage
{
    private readonly IReadOnlyList<(Tensor Ema, Tensor Live)> pairs;

    /// <summary>Tracks <paramref name="live"/> in <paramref name="ema"/>, a module of the same architecture.</summary>
    public ExponentialMovingAverage(nn.Module live, nn.Module ema, double decay)
    {
        Decay = decay;
        var liveParams = live.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var list = new List<(Tensor, Tensor)>();
        foreach (var (name, p) in ema.named_parameters())
        {
            if (!liveParams.TryGetValue(name, out var source)) throw new ArgumentException($"The EMA model has a parameter '{name}' the live model lacks.");
            p.requires_grad = false;
            list.Add((p, source));
        }
        pairs = list;
        averages = list.ToDictionary(pair => DataAddress(pair.Item2), pair => pair.Item1);
    }

    // Averages by the address of their live parameter's data, which identifies it whatever wrapper object holds it.
    private readonly Dictionary<nint, Tensor> averages;

    /// <summary>The average of the live parameter <paramref name="live"/>, or null if it has none.</summary>
    public Tensor? AverageOf(Tensor live) => averages.GetValueOrDefault(DataAddress(live));

    private static unsafe nint DataAddress(Tensor t)
    {
        fixed (byte* p = t.bytes) return (nint)p;
    }

    /// <summary>The decay per step.</summary>
    public double Decay { get; }

    /// <summary>Copies the live weights into the average (θ_ema ← θ).</summary>
    public void CopyFromLive()
    {
        using var noGrad = no_grad();
        foreach (var (ema, live) in pairs) ema.copy_(live);
    }

    /// <summary>One update after an optimizer step, with <see cref="Decay"/>.</summary>
    public void Update() => Update(Decay);

    /// <summary>One update with the given <paramref name="decay"/> (a warm-up value, see <see cref="TrainingConfig.EmaDecayAt"/>).</summary>
    public void Update(double decay)
    {
        using var noGrad = no_grad();
        // One 0-d weight tensor for all parameters (lerp_ takes its weight as a tensor), made once per update.
        using Tensor weight = 1.0 - decay;
        foreach (var (ema, live) in pairs) ema.lerp_(live, weight);
    }
}
