using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

public class InPlaceAdamTests
{
    /// <summary>Two copies of a small network with different parameter shapes, and the same gradients for both.</summary>
    private static (Sequential A, Sequential B) Pair()
    {
        Sequential Make()
        {
            using var _ = NewDisposeScope();
            manual_seed(3);
            return nn.Sequential(("conv", nn.Conv2d(2, 4, 3)), ("lin", nn.Linear(5, 3)));
        }
        return (Make(), Make());
    }

    private static void SetGradients(nn.Module a, nn.Module b, int step)
    {
        using var g = new Generator(100 + (ulong)step);
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
        {
            var grad = randn(pa.shape, generator: g);
            pa.grad = grad;
            pb.grad = grad.clone();
        }
    }

    [Fact]
    public void Gives_bit_for_bit_the_parameters_and_state_of_torchsharps_Adam()
    {
        var (a, b) = Pair();
        using var _a = a;
        using var _b = b;
        using var reference = optim.Adam(a.parameters(), lr: 1e-2, eps: 0.1);
        using var ours = optim.Adam(b.parameters(), lr: 1e-2, eps: 0.1);
        for (var step = 0; step < 4; step++)
        {
            var lr = step == 2 ? 3e-3 : 1e-2; // a learning-rate change between steps is honoured
            foreach (var group in reference.ParamGroups) group.LearningRate = lr;
            foreach (var group in ours.ParamGroups) group.LearningRate = lr;
            SetGradients(a, b, step);
            reference.step();
            InPlaceAdam.Step(ours);
        }
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) Assert.True(pa.equal(pb).all().item<bool>());
        var sa = reference.state_dict().State.Cast<Adam.State>().ToList();
        var sb = ours.state_dict().State.Cast<Adam.State>().ToList();
        Assert.Equal(sa.Count, sb.Count);
        for (var i = 0; i < sa.Count; i++)
        {
            Assert.Equal(4, sb[i].step);
            Assert.True(sa[i].exp_avg.equal(sb[i].exp_avg).all().item<bool>());
            Assert.True(sa[i].exp_avg_sq.equal(sb[i].exp_avg_sq).all().item<bool>());
        }
        // The update is not trivially zero: the parameters moved.
        var (fresh, _) = Pair();
        using var _f = fresh;
        Assert.Contains(fresh.parameters().Zip(b.parameters()), p => !p.First.equal(p.Second).all().item<bool>());
    }

    [Fact]
    public void Skips_parameters_without_a_gradient_and_leaves_no_tensors_behind()
    {
        var (a, b) = Pair();
        using var _a = a;
        using var _b = b;
        using var ours = optim.Adam(b.parameters(), lr: 1e-2, eps: 0.1);
        SetGradients(a, b, 0);
        var first = b.parameters().First();
        first.grad = null;
        using var before = first.detach().clone();
        var live = LiveTensors.Count;
        InPlaceAdam.Step(ours);
        Assert.Equal(live, LiveTensors.Count);
        Assert.True(first.equal(before).all().item<bool>());
        Assert.Equal(0, ours.state_dict().State.Cast<Adam.State>().First().step);
    }

    [Fact]
    public void Falls_back_to_torchsharps_step_for_options_it_does_not_implement()
    {
        var (a, b) = Pair();
        using var _a = a;
        using var _b = b;
        using var reference = optim.Adam(a.parameters(), lr: 1e-2, amsgrad: true, weight_decay: 0.1);
        using var ours = optim.Adam(b.parameters(), lr: 1e-2, amsgrad: true, weight_decay: 0.1);
        Assert.False(InPlaceAdam.Supports(ours));
        SetGradients(a, b, 0);
        reference.step();
        InPlaceAdam.Step(ours);
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters())) Assert.True(pa.equal(pb).all().item<bool>());
    }
}
