using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

/// <summary>
/// FusedAdam against the same step done with libtorch's operations: clip_grad_norm_, <see cref="InPlaceAdam"/> (which
/// equals TorchSharp's Adam bit for bit) and the EMA's lerp_. One parameter is large enough for the parallel path and
/// has a length that is not a multiple of the vector width, so the scalar tail runs too.
/// </summary>
public class FusedAdamTests
{
    private const double MaxNorm = 1.0;
    private const double Decay = 0.99;

    /// <summary>A set of parameters of awkward sizes, the same values for every call.</summary>
    private static List<Parameter> Parameters()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        long[][] shapes = [[3, 5], [7], [300_007], [4, 2, 3, 3]];
        return shapes.Select(s => new Parameter(randn(s, generator: generator)).DetachFromDisposeScope()).Cast<Parameter>().ToList();
    }

    private static void SetGradients(IReadOnlyList<Parameter> a, IReadOnlyList<Parameter> b, int step, double size)
    {
        using var generator = new Generator(100 + (ulong)step);
        for (var i = 0; i < a.Count; i++)
        {
            var grad = randn(a[i].shape, generator: generator).mul_(size);
            a[i].grad = grad;
            b[i].grad = grad.clone();
        }
    }

    private static List<Tensor> Averages(IReadOnlyList<Parameter> ps) => ps.Select(p => p.detach().clone()).ToList();

    private static void Lerp(IReadOnlyList<Tensor> averages, IReadOnlyList<Parameter> ps)
    {
        using var noGrad = no_grad();
        using Tensor weight = 1.0 - Decay;
        for (var i = 0; i < ps.Count; i++) averages[i].lerp_(ps[i], weight);
    }

    /// <summary>max |a − b| / max |b|: the largest difference on the scale of the tensor's values.</summary>
    private static double MaxRelativeDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).abs().max().item<float>() / b.abs().max().item<float>();
    }

    [Theory]
    [InlineData(1e-4)]  // small gradients: the clip leaves them as they are
    [InlineData(10.0)]  // large ones: every gradient is scaled down
    public void Equals_clipping_Adam_and_the_EMA_done_with_libtorchs_operations(double gradientSize)
    {
        var a = Parameters();
        var b = Parameters();
        var averagesA = Averages(a);
        var averagesB = Averages(b);
        using var reference = optim.Adam(a, lr: 1e-2, eps: 1e-8);
        using var fused = optim.Adam(b, lr: 1e-2, eps: 1e-8);
        Assert.True(FusedAdam.Supports(fused));
        for (var step = 0; step < 5; step++)
        {
            SetGradients(a, b, step, gradientSize);
            var referenceNorm = nn.utils.clip_grad_norm_(a, MaxNorm);
            InPlaceAdam.Step(reference);
            Lerp(averagesA, a);
            var (norm, scale) = FusedAdam.ClipScale(b, MaxNorm);
            Assert.Equal(referenceNorm, norm, referenceNorm * 1e-6);
            Assert.Equal(gradientSize > 1 ? (float)(MaxNorm / (norm + 1e-6)) : 1f, scale, 1e-6f);
            FusedAdam.Step(fused, scale, live => averagesB[b.FindIndex(p => ReferenceEquals(p, live))], Decay);
        }
        var states = reference.state_dict().State.Cast<Adam.State>().Zip(fused.state_dict().State.Cast<Adam.State>()).ToList();
        for (var i = 0; i < a.Count; i++)
        {
            // float32 arithmetic in the same order: where libtorch's vectorised kernels round differently, the weight differs
            // in its last bit (in under 1 % of the elements per step), far below one step's change (lr = 1e-2).
            Assert.InRange(MaxRelativeDifference(b[i], a[i]), 0, 1e-6);
            Assert.InRange(MaxRelativeDifference(averagesB[i], averagesA[i]), 0, 1e-6);
            Assert.InRange(MaxRelativeDifference(states[i].Second.exp_avg, states[i].First.exp_avg), 0, 1e-6);
            Assert.InRange(MaxRelativeDifference(states[i].Second.exp_avg_sq, states[i].First.exp_avg_sq), 0, 1e-5);
            Assert.Equal(5, states[i].Second.step);
        }
        // Not trivially equal: the weights and their averages moved away from where they started.
        var start = Parameters();
        Assert.All(start.Zip(b), p => Assert.InRange(MaxRelativeDifference(p.Second, p.First), 1e-3, double.MaxValue));
        Assert.All(start.Zip(averagesB), p => Assert.False(p.Second.equal(p.First).all().item<bool>()));
    }

    [Fact]
    public void Gives_the_same_bits_every_time_and_leaves_no_tensors_behind()
    {
        List<Tensor> Run()
        {
            var ps = Parameters();
            var averages = Averages(ps);
            using var optimizer = optim.Adam(ps, lr: 1e-3);
            for (var step = 0; step < 3; step++)
            {
                using (var generator = new Generator(200 + (ulong)step))
                {
                    foreach (var p in ps) p.grad = randn(p.shape, generator: generator);
                }
                var (_, scale) = FusedAdam.ClipScale(ps, MaxNorm);
                var live = LiveTensors.Count;
                FusedAdam.Step(optimizer, scale, parameter => averages[ps.FindIndex(p => ReferenceEquals(p, parameter))], Decay);
                Assert.Equal(live, LiveTensors.Count);
            }
            return [.. ps, .. averages];
        }
        var first = Run();
        var second = Run();
        Assert.All(first.Zip(second), p => Assert.True(p.First.equal(p.Second).all().item<bool>()));
    }

    [Fact]
    public void Reads_a_non_contiguous_gradient_as_its_values()
    {
        var a = Parameters();
        var b = Parameters();
        using var reference = optim.Adam(a, lr: 1e-2);
        using var fused = optim.Adam(b, lr: 1e-2);
        SetGradients(a, b, 0, 1e-4);
        // The same values stored transposed: b[0]'s gradient is a non-contiguous view.
        using (var transposed = b[0].grad!.t().contiguous()) b[0].grad = transposed.t();
        Assert.False(b[0].grad!.is_contiguous());
        InPlaceAdam.Step(reference);
        FusedAdam.Step(fused, 1f);
        Assert.InRange(MaxRelativeDifference(b[0], a[0]), 0, 1e-6);
    }

    [Fact]
    public void Refuses_options_it_does_not_implement()
    {
        var ps = Parameters();
        using var optimizer = optim.Adam(ps, lr: 1e-2, amsgrad: true);
        Assert.False(FusedAdam.Supports(optimizer));
        Assert.Throws<ArgumentException>(() => FusedAdam.Step(optimizer, 1f));
    }
}
