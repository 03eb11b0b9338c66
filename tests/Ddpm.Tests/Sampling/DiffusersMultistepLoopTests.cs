using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>
/// diffusers' multistep scheduler loops (tests/schedulers/test_scheduler_dpm_multi.py and test_scheduler_unipc.py): their
/// deterministic dummy sample and dummy model over 10 steps, with their base configurations (DPM-Solver++: order 2, midpoint,
/// lower_order_final off, final σ_min; UniPC: order 2, bh2, final σ_min) and one change per case. Values diffusers publishes
/// are marked "published"; the others come from diffusers' own scheduler files run by
/// <c>python3 scripts/diffusers_multistep_loops.py &lt;diffusers&gt;/src/diffusers/schedulers</c> (which also reproduces every
/// published value to the printed digit). Tolerances are diffusers': 1e-2 on Σ|x| and 1e-3 on its mean.
/// </summary>
public class DiffusersMultistepLoopTests
{
    private static readonly DpmSolverOptions DpmBase = new()
    {
        Steps = 10, Order = 2, SolverType = DpmSolverType.Midpoint, LowerOrderFinal = false, FinalSigmas = FinalSigmas.SigmaMin,
    };

    private static readonly DpmSolverOptions SdeBase = DpmBase with { Algorithm = DpmSolverAlgorithm.SdeDpmSolverPlusPlus };

    private static readonly UniPcOptions UniPcBase = new() { Steps = 10, Order = 2, Variant = UniPcVariant.Bh2, FinalSigmas = FinalSigmas.SigmaMin };

    private static readonly DynamicThresholding TestThresholding = new(Ratio: 0.87, MaxValue: 0.5);

    private static readonly Dictionary<string, (ModelMeanType Mean, DpmSolverOptions Options, int Start)> DpmCases = new()
    {
        ["default"] = (ModelMeanType.Epsilon, DpmBase, 0),
        ["v_prediction"] = (ModelMeanType.Velocity, DpmBase, 0),
        ["sample_prediction"] = (ModelMeanType.StartX, DpmBase, 0),
        ["thresholding"] = (ModelMeanType.Epsilon, DpmBase with { Thresholding = TestThresholding }, 0),
        ["with_noise"] = (ModelMeanType.Epsilon, DpmBase, 5),
        ["order1"] = (ModelMeanType.Epsilon, DpmBase with { Order = 1 }, 0),
        ["heun"] = (ModelMeanType.Epsilon, DpmBase with { SolverType = DpmSolverType.Heun }, 0),
        ["order3"] = (ModelMeanType.Epsilon, DpmBase with { Order = 3 }, 0),
        ["order3_heun"] = (ModelMeanType.Epsilon, DpmBase with { Order = 3, SolverType = DpmSolverType.Heun }, 0),
        ["lower_order_final"] = (ModelMeanType.Epsilon, DpmBase with { LowerOrderFinal = true }, 0),
        ["order3_lower_order_final"] = (ModelMeanType.Epsilon, DpmBase with { Order = 3, LowerOrderFinal = true }, 0),
        ["euler_at_final"] = (ModelMeanType.Epsilon, DpmBase with { EulerAtFinal = true }, 0),
        ["final_zero"] = (ModelMeanType.Epsilon, DpmBase with { FinalSigmas = FinalSigmas.Zero }, 0),
        ["final_zero_order3_lower_order_final"] = (ModelMeanType.Epsilon, DpmBase with { FinalSigmas = FinalSigmas.Zero, Order = 3, LowerOrderFinal = true }, 0),
        ["dpmsolver"] = (ModelMeanType.Epsilon, DpmBase with { Algorithm = DpmSolverAlgorithm.DpmSolver }, 0),
        ["dpmsolver_heun"] = (ModelMeanType.Epsilon, DpmBase with { Algorithm = DpmSolverAlgorithm.DpmSolver, SolverType = DpmSolverType.Heun }, 0),
        ["dpmsolver_order3"] = (ModelMeanType.Epsilon, DpmBase with { Algorithm = DpmSolverAlgorithm.DpmSolver, Order = 3 }, 0),
        ["dpmsolver_v_prediction"] = (ModelMeanType.Velocity, DpmBase with { Algorithm = DpmSolverAlgorithm.DpmSolver }, 0),
        ["trailing"] = (ModelMeanType.Epsilon, DpmBase with { Spacing = TimestepSpacing.Trailing }, 0),
        ["leading_offset1"] = (ModelMeanType.Epsilon, DpmBase with { Spacing = TimestepSpacing.Leading, StepsOffset = 1 }, 0),
        ["sde"] = (ModelMeanType.Epsilon, SdeBase, 0),
        ["sde_order1"] = (ModelMeanType.Epsilon, SdeBase with { Order = 1 }, 0),
        ["sde_heun"] = (ModelMeanType.Epsilon, SdeBase with { SolverType = DpmSolverType.Heun }, 0),
        ["sde_order3"] = (ModelMeanType.Epsilon, SdeBase with { Order = 3 }, 0),
        ["sde_final_zero_lower_order_final"] = (ModelMeanType.Epsilon, SdeBase with { FinalSigmas = FinalSigmas.Zero, LowerOrderFinal = true }, 0),
        ["sde_v_prediction"] = (ModelMeanType.Velocity, SdeBase, 0),
    };

    private static readonly Dictionary<string, (ModelMeanType Mean, UniPcOptions Options, int Start)> UniPcCases = new()
    {
        ["default"] = (ModelMeanType.Epsilon, UniPcBase, 0),
        ["v_prediction"] = (ModelMeanType.Velocity, UniPcBase, 0),
        ["sample_prediction"] = (ModelMeanType.StartX, UniPcBase, 0),
        ["with_noise"] = (ModelMeanType.Epsilon, UniPcBase, 8),
        ["bh1"] = (ModelMeanType.Epsilon, UniPcBase with { Variant = UniPcVariant.Bh1 }, 0),
        ["order1"] = (ModelMeanType.Epsilon, UniPcBase with { Order = 1 }, 0),
        ["order3"] = (ModelMeanType.Epsilon, UniPcBase with { Order = 3 }, 0),
        ["order3_bh1"] = (ModelMeanType.Epsilon, UniPcBase with { Order = 3, Variant = UniPcVariant.Bh1 }, 0),
        ["no_lower_order_final"] = (ModelMeanType.Epsilon, UniPcBase with { LowerOrderFinal = false }, 0),
        ["final_zero"] = (ModelMeanType.Epsilon, UniPcBase with { FinalSigmas = FinalSigmas.Zero }, 0),
        ["final_zero_order3"] = (ModelMeanType.Epsilon, UniPcBase with { FinalSigmas = FinalSigmas.Zero, Order = 3 }, 0),
        ["noise_prediction"] = (ModelMeanType.Epsilon, UniPcBase with { PredictX0 = false }, 0),
        ["noise_prediction_order3_bh1"] = (ModelMeanType.Epsilon, UniPcBase with { PredictX0 = false, Order = 3, Variant = UniPcVariant.Bh1 }, 0),
        ["disable_corrector_0_1"] = (ModelMeanType.Epsilon, UniPcBase with { DisableCorrector = [0, 1] }, 0),
        ["disable_corrector_2_to_7"] = (ModelMeanType.Epsilon, UniPcBase with { DisableCorrector = [2, 3, 4, 5, 6, 7] }, 0),
        ["trailing"] = (ModelMeanType.Epsilon, UniPcBase with { Spacing = TimestepSpacing.Trailing }, 0),
        ["leading_offset1"] = (ModelMeanType.Epsilon, UniPcBase with { Spacing = TimestepSpacing.Leading, StepsOffset = 1 }, 0),
        ["thresholding"] = (ModelMeanType.Epsilon, UniPcBase with { Thresholding = TestThresholding }, 0),
    };

    [Theory]
    [InlineData("default", 253.5514, 0.3301)] // published mean (test_full_loop_no_noise)
    [InlineData("v_prediction", 172.8740, 0.2251)] // published mean
    [InlineData("sample_prediction", 847.0432, 1.1029)]
    [InlineData("thresholding", 872.7271, 1.1364)] // published mean (test_full_loop_no_noise_thres)
    [InlineData("with_noise", 318.4111, 0.4146)] // published sum and mean
    [InlineData("order1", 172.2642, 0.2243)]
    [InlineData("heun", 292.1283, 0.3804)]
    [InlineData("order3", 176.9652, 0.2304)]
    [InlineData("order3_heun", 176.9437, 0.2304)]
    [InlineData("lower_order_final", 187.5533, 0.2442)]
    [InlineData("order3_lower_order_final", 190.1711, 0.2476)]
    [InlineData("euler_at_final", 187.5533, 0.2442)]
    [InlineData("final_zero", 185.0114, 0.2409)]
    [InlineData("final_zero_order3_lower_order_final", 187.5937, 0.2443)]
    [InlineData("dpmsolver", 223.5860, 0.2911)]
    [InlineData("dpmsolver_heun", 203.6040, 0.2651)]
    [InlineData("dpmsolver_order3", 204.9881, 0.2669)]
    [InlineData("dpmsolver_v_prediction", 119.1243, 0.1551)]
    [InlineData("trailing", 253.0909, 0.3295)]
    [InlineData("leading_offset1", 246.6663, 0.3212)]
    // sde-dpmsolver++ with the fixed noise of step k, step_noise(k) of the script, as variance_noise.
    [InlineData("sde", 565.0079, 0.7357)]
    [InlineData("sde_order1", 344.1676, 0.4481)]
    [InlineData("sde_heun", 736.2249, 0.9586)]
    // Third order: the script with --float64. diffusers' float32 run gives 927.8239: it computes D2's coefficient
    // (1 − e^{−2h} − 2h)/(2h)² − ½ in float32, where the numerator (about −2h²) cancels; schedule values here are float64.
    [InlineData("sde_order3", 927.8424, 1.2081)]
    [InlineData("sde_final_zero_lower_order_final", 385.6226, 0.5021)]
    [InlineData("sde_v_prediction", 519.6161, 0.6766)]
    public void DpmSolver_full_loop_matches_diffusers(string name, double sum, double meanAbs)
    {
        using var scope = NewDisposeScope();
        var (mean, options, start) = DpmCases[name];
        using var d = DiffusersSchedulerLoopTests.Diffusion(mean);
        using var sampler = new DpmSolverMultistepSampler(d, options);
        AssertLoop(sampler, d, start, sum, meanAbs);
    }

    [Theory]
    [InlineData("default", 189.2318, 0.2464)] // published mean (test_full_loop_no_noise)
    [InlineData("v_prediction", 77.8725, 0.1014)] // published mean
    [InlineData("sample_prediction", 735.9615, 0.9583)]
    [InlineData("with_noise", 315.5757, 0.4109)] // published sum and mean
    [InlineData("bh1", 193.5755, 0.2521)]
    [InlineData("order1", 178.4625, 0.2324)]
    [InlineData("order3", 189.9730, 0.2474)]
    [InlineData("order3_bh1", 193.6001, 0.2521)]
    [InlineData("no_lower_order_final", 256.0753, 0.3334)]
    [InlineData("final_zero", 186.7621, 0.2432)]
    [InlineData("final_zero_order3", 187.5004, 0.2441)]
    [InlineData("noise_prediction", 187.3961, 0.2440)]
    [InlineData("noise_prediction_order3_bh1", 187.8836, 0.2446)]
    [InlineData("disable_corrector_0_1", 189.2271, 0.2464)]
    [InlineData("disable_corrector_2_to_7", 187.4647, 0.2441)]
    [InlineData("trailing", 189.4853, 0.2467)]
    [InlineData("leading_offset1", 190.9743, 0.2487)]
    [InlineData("thresholding", 556.2518, 0.7243)]
    public void UniPc_full_loop_matches_diffusers(string name, double sum, double meanAbs)
    {
        using var scope = NewDisposeScope();
        var (mean, options, start) = UniPcCases[name];
        using var d = DiffusersSchedulerLoopTests.Diffusion(mean);
        using var sampler = new UniPcSampler(d, options);
        AssertLoop(sampler, d, start, sum, meanAbs);
    }

    /// <summary>
    /// The loop of diffusers' full_loop (start 0) or test_full_loop_with_noise: x = α x_0 + σ ε at the start timestep with
    /// dummy_noise_deter (arange reversed), then the remaining steps.
    /// </summary>
    private static void AssertLoop(ISampler sampler, GaussianDiffusion d, int start, double sum, double meanAbs)
    {
        var sample = DiffusersSchedulerLoopTests.DummySample();
        if (start > 0)
        {
            var ab = d.Schedule.AlphasCumprod[sampler.Timesteps[start]];
            sample = sample * Math.Sqrt(ab) + DummyNoise() * Math.Sqrt(1 - ab);
        }
        var k = 0;
        foreach (var t in sampler.Timesteps.Skip(start))
        {
            using var noise = sampler.AddsNoise(t) ? StepNoise(k) : null;
            sample = sampler.Step(DiffusersSchedulerLoopTests.DummyModel(sample, t), t, sample, noise: noise).Previous;
            k++;
        }
        Assert.Equal(sum, sample.abs().sum().item<float>(), Tolerances.DiffusersSum);
        Assert.Equal(meanAbs, sample.abs().mean().item<float>(), Tolerances.DiffusersMean);
    }

    /// <summary>The SDE cases' noise of step k: dummy_noise_deter mapped to [−1, 1), flattened, rolled by k and reshaped.</summary>
    private static Tensor StepNoise(int k) => (DummyNoise() * 2 - 1).reshape(-1).roll(k).reshape(4, 3, 8, 8);

    /// <summary>dummy_noise_deter: arange(n) reversed / n, reshaped (3, 8, 8, 4) and permuted to (4, 3, 8, 8).</summary>
    private static Tensor DummyNoise()
    {
        const int n = 4 * 3 * 8 * 8;
        return (arange(n, dtype: ScalarType.Float32).flip(0) / n).reshape(3, 8, 8, 4).permute(3, 0, 1, 2).contiguous();
    }

    [Theory]
    [InlineData(UniPcVariant.Bh1, true)]
    [InlineData(UniPcVariant.Bh2, false)]
    public void UniPc_ending_at_sigma_zero_returns_the_last_data_prediction_where_diffusers_gives_nan(UniPcVariant variant, bool lowerOrderFinal)
    {
        // diffusers' UniPC ends in NaN here: B(h) = −∞ (bh1) or a second-order term divided by r = −0 at σ = 0.
        using var scope = NewDisposeScope();
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        using var sampler = new UniPcSampler(d, UniPcBase with { Variant = variant, LowerOrderFinal = lowerOrderFinal, FinalSigmas = FinalSigmas.Zero });
        var sample = DiffusersSchedulerLoopTests.DummySample();
        StepResult? last = null;
        foreach (var t in sampler.Timesteps)
        {
            last = sampler.Step(DiffusersSchedulerLoopTests.DummyModel(sample, t), t, sample);
            sample = last.Previous;
        }
        Assert.False(sample.isnan().any().item<bool>());
        Assert.True(last!.Previous.allclose(last.PredictedStart, rtol: 0, atol: Tolerances.Float32));
    }

    [Fact]
    public void Multistep_spacings_match_diffusers_timesteps()
    {
        // np.linspace(0, 999, 11).round()[::-1][:-1]; (np.arange(11) * (1000 // 11))[::-1][:-1] + 1; trailing as DDIM's.
        Assert.Equal([999, 899, 799, 699, 599, 500, 400, 300, 200, 100], SamplingTimesteps.CreateMultistep(TimestepSpacing.Linspace, 1000, 10));
        Assert.Equal([901, 811, 721, 631, 541, 451, 361, 271, 181, 91], SamplingTimesteps.CreateMultistep(TimestepSpacing.Leading, 1000, 10, offset: 1));
        Assert.Equal([999, 899, 799, 699, 599, 499, 399, 299, 199, 99], SamplingTimesteps.CreateMultistep(TimestepSpacing.Trailing, 1000, 10));
        Assert.Throws<ArgumentException>(() => SamplingTimesteps.CreateMultistep(TimestepSpacing.Leading, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => SamplingTimesteps.CreateMultistep(TimestepSpacing.Linspace, 10, 0));
    }
}
