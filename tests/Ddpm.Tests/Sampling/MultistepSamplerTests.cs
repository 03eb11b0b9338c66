using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using static TorchSharp.torch;

namespace Ddpm.Tests.Sampling;

/// <summary>DPM-Solver++ and UniPC beyond diffusers' loops: first order is DDIM, the per-step API by hand, settings and refusals.</summary>
public class MultistepSamplerTests
{
    /// <summary>A smooth, t-dependent stand-in for a model, so every step's output differs.</summary>
    private static Tensor Model(Tensor x, int t) => (x * 0.7 + t / 1000.0).sin();

    private static Tensor Start()
    {
        using var g = new Generator(3);
        return randn([2, 3, 4, 4], generator: g);
    }

    [Theory]
    [InlineData(ModelMeanType.Epsilon, DpmSolverAlgorithm.DpmSolverPlusPlus, FinalSigmas.Zero)]
    [InlineData(ModelMeanType.Velocity, DpmSolverAlgorithm.DpmSolverPlusPlus, FinalSigmas.Zero)]
    [InlineData(ModelMeanType.StartX, DpmSolverAlgorithm.DpmSolverPlusPlus, FinalSigmas.SigmaMin)]
    [InlineData(ModelMeanType.Epsilon, DpmSolverAlgorithm.DpmSolver, FinalSigmas.SigmaMin)]
    public void First_order_dpm_solver_is_ddim_with_eta_zero(ModelMeanType mean, DpmSolverAlgorithm algorithm, FinalSigmas final)
    {
        // Lu et al. 2022b, §3: x_t = (σ_t/σ_s) x_s + α_t (1 − e^{−h}) x̂_0 = α_t x̂_0 + σ_t ε̂, DDIM's Eq. (12) with σ = 0.
        using var scope = NewDisposeScope();
        using var d = DiffusersSchedulerLoopTests.Diffusion(mean);
        using var dpm = new DpmSolverMultistepSampler(d, new DpmSolverOptions
        {
            Steps = 10, Order = 1, Algorithm = algorithm, FinalSigmas = final, Spacing = TimestepSpacing.Trailing,
        });
        var ddim = new DdimSampler(d, new DdimSamplerOptions
        {
            Steps = 10, Eta = 0, Spacing = TimestepSpacing.Trailing, ClipDenoised = false, FinalAlphaCumprodIsOne = final == FinalSigmas.Zero,
        });
        Assert.Equal(ddim.Timesteps, dpm.Timesteps);
        var x = Start();
        foreach (var t in dpm.Timesteps)
        {
            var output = Model(x, t);
            var a = dpm.Step(output, t, x);
            var b = ddim.Step(output, t, x);
            Assert.True(a.Previous.allclose(b.Previous, rtol: Tolerances.Float32, atol: Tolerances.Float32), $"step at t = {t}");
            Assert.True(a.PredictedStart.allclose(b.PredictedStart, rtol: Tolerances.Float32, atol: Tolerances.Float32), $"x̂0 at t = {t}");
            x = a.Previous;
        }
    }

    [Theory]
    [InlineData(ModelMeanType.Epsilon, FinalSigmas.Zero)]
    [InlineData(ModelMeanType.Velocity, FinalSigmas.SigmaMin)]
    public void First_order_sde_dpm_solver_is_ddim_with_eta_one_under_the_same_noise(ModelMeanType mean, FinalSigmas final)
    {
        // Lu et al. 2022b: SDE-DPM-Solver++1 is DDIM with η = 1. Its x_s coefficient (σ_t/σ_s)e^{−h} = σ_t²α_s/(σ_s²α_t) and
        // noise scale σ_t√(1 − e^{−2h}) = (σ_t/σ_s)√(1 − α_s²/α_t²) are DDIM's √(σ_t² − σ²)/σ_s and σ at η = 1.
        using var scope = NewDisposeScope();
        using var d = DiffusersSchedulerLoopTests.Diffusion(mean);
        using var dpm = new DpmSolverMultistepSampler(d, new DpmSolverOptions
        {
            Steps = 10, Order = 1, Algorithm = DpmSolverAlgorithm.SdeDpmSolverPlusPlus, FinalSigmas = final, Spacing = TimestepSpacing.Trailing,
        });
        var ddim = new DdimSampler(d, new DdimSamplerOptions
        {
            Steps = 10, Eta = 1, Spacing = TimestepSpacing.Trailing, ClipDenoised = false, FinalAlphaCumprodIsOne = final == FinalSigmas.Zero,
        });
        Assert.Equal(ddim.Timesteps, dpm.Timesteps);
        var x = Start();
        var noisy = 0;
        foreach (var t in dpm.Timesteps)
        {
            Assert.Equal(ddim.AddsNoise(t), dpm.AddsNoise(t));
            using var g = new Generator((ulong)t);
            using var noise = dpm.AddsNoise(t) ? randn(x.shape, generator: g) : null;
            noisy += noise is null ? 0 : 1;
            var output = Model(x, t);
            var a = dpm.Step(output, t, x, noise: noise);
            var b = ddim.Step(output, t, x, noise: noise);
            Assert.True(a.Previous.allclose(b.Previous, rtol: 1e-4, atol: 1e-5), $"step at t = {t}");
            x = a.Previous;
        }
        Assert.Equal(final == FinalSigmas.Zero ? 9 : 10, noisy);
    }

    public static TheoryData<string> Solvers => ["dpm2", "dpm3", "unipc2", "unipc3"];

    private static MultistepSamplerBase Create(string name, GaussianDiffusion d, FinalSigmas final = FinalSigmas.Zero) => name switch
    {
        "dpm2" => new DpmSolverMultistepSampler(d, new DpmSolverOptions { Steps = 8, FinalSigmas = final }),
        "dpm3" => new DpmSolverMultistepSampler(d, new DpmSolverOptions { Steps = 8, Order = 3, SolverType = DpmSolverType.Heun, FinalSigmas = final }),
        "unipc2" => new UniPcSampler(d, new UniPcOptions { Steps = 8, FinalSigmas = final }),
        "unipc3" => new UniPcSampler(d, new UniPcOptions { Steps = 8, Order = 3, Variant = UniPcVariant.Bh1, FinalSigmas = final }),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static Tensor Run(ISampler sampler, Tensor x)
    {
        foreach (var t in sampler.Timesteps) x = sampler.Step(Model(x, t), t, x).Previous;
        return x;
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void One_instance_runs_trajectory_after_trajectory_and_keeps_no_tensors(string name)
    {
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        using var sampler = Create(name, d);
        using var x = Start();
        using var first = Run(sampler, x);
        var live = LiveTensors.Count;
        using (var scope = NewDisposeScope())
        {
            var again = Run(sampler, x);
            Assert.True(Same.Bytes(first, again));
        }
        Assert.Equal(live, LiveTensors.Count);
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void Steps_out_of_order_throw_and_reset_starts_again(string name)
    {
        using var scope = NewDisposeScope();
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        using var sampler = Create(name, d);
        var x = Start();
        var ts = sampler.Timesteps;
        var reference = Run(sampler, x);
        var y = sampler.Step(Model(x, ts[0]), ts[0], x).Previous;
        var skip = Assert.Throws<InvalidOperationException>(() => sampler.Step(Model(y, ts[2]), ts[2], y));
        Assert.Contains(ts[1].ToString(System.Globalization.CultureInfo.InvariantCulture), skip.Message);
        sampler.Step(Model(y, ts[1]), ts[1], y);
        sampler.Reset();
        Assert.True(Same.Bytes(reference, Run(sampler, x)));
    }

    [Theory]
    [MemberData(nameof(Solvers))]
    public void Higher_orders_are_closer_to_the_exact_ode_solution_than_first_order(string name)
    {
        // Data x_0 ~ N(0, s²): the exact ε̂(x, t) = σ_t x/(ᾱ_t s² + 1 − ᾱ_t), and along the probability-flow ODE
        // x_t/√(ᾱ_t s² + 1 − ᾱ_t) is constant, so the solution at every timestep is known in closed form. Compared at the last
        // visited timestep: the final jump to σ_0 is one long first-order step for every solver (lower_order_final).
        const double s2 = 0.25;
        using var scope = NewDisposeScope();
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        var ab = d.Schedule.AlphasCumprod;
        double Scale(int t) => Math.Sqrt(ab[t] * s2 + 1 - ab[t]);
        Tensor Exact(Tensor x, int t) => x * (Math.Sqrt(1 - ab[t]) / (Scale(t) * Scale(t)));
        Tensor Solve(ISampler sampler, Tensor x)
        {
            foreach (var t in sampler.Timesteps.SkipLast(1)) x = sampler.Step(Exact(x, t), t, x).Previous;
            return x;
        }

        var start = Start();
        using var first = new DpmSolverMultistepSampler(d, new DpmSolverOptions { Steps = 8, Order = 1, FinalSigmas = FinalSigmas.SigmaMin });
        using var solver = Create(name, d, FinalSigmas.SigmaMin);
        Assert.Equal(first.Timesteps, solver.Timesteps);
        var exact = start * (Scale(solver.Timesteps[^1]) / Scale(solver.Timesteps[0]));
        var firstError = (Solve(first, start) - exact).abs().max().item<float>();
        var solverError = (Solve(solver, start) - exact).abs().max().item<float>();
        Assert.True(solverError < firstError / 2, $"{name}: error {solverError} against first order's {firstError}");
    }

    [Fact]
    public void Settings_build_the_solvers_with_diffusers_defaults()
    {
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        using var dpm = (DpmSolverMultistepSampler)SamplerSettings.DpmSolverPlusPlus(steps: 12, order: 3).Create(d);
        Assert.Equal(12, dpm.Timesteps.Count);
        Assert.Equal(999, dpm.Timesteps[0]);
        Assert.Equal(3, dpm.Order);
        Assert.True(dpm.DataPrediction);
        using var unipc = (UniPcSampler)new SamplerSettings { Kind = SamplerKind.UniPc }.Create(d);
        Assert.Equal(20, unipc.Timesteps.Count);
        Assert.Equal(2, unipc.Order);
        Assert.Equal(20, new SamplerSettings { Kind = SamplerKind.UniPc }.StepCount(1000));
        Assert.Equal("DPM-Solver++(2M)", SamplerSettings.DpmSolverPlusPlus().DisplayName);
        Assert.Equal("UniPC-bh1(3)", SamplerSettings.UniPc(order: 3, variant: UniPcVariant.Bh1).DisplayName);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        using var d = DiffusersSchedulerLoopTests.Diffusion(ModelMeanType.Epsilon);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DpmSolverMultistepSampler(d, new DpmSolverOptions { Order = 4 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new UniPcSampler(d, new UniPcOptions { Order = 0 }));
        Assert.Throws<ArgumentException>(() => new DpmSolverMultistepSampler(d, new DpmSolverOptions { Algorithm = DpmSolverAlgorithm.DpmSolver }));
        Assert.Throws<ArgumentException>(() => new UniPcSampler(d, new UniPcOptions { PredictX0 = false }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DpmSolverMultistepSampler(d, new DpmSolverOptions { Thresholding = new DynamicThresholding(Ratio: 0) }));
    }
}
