using Ddpm.Checkpoints;
using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Schedules;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

/// <summary>
/// The objectives of Table 2: every valid loss × mean × variance trains a tiny model and samples; invalid ones are refused;
/// the pieces (μ̃ prediction, learned variances, the hybrid's stopped gradient, cosine decay, importance sampling) against
/// their definitions.
/// </summary>
public sealed class ObjectiveTests : IDisposable
{
    private readonly TempFolder temp = new();

    public static TheoryData<string, string, string> ValidObjectives()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var loss in ObjectiveNames.LossNames)
            foreach (var mean in ObjectiveNames.MeanTypeNames)
                foreach (var variance in ObjectiveNames.VarianceNames)
                {
                    var learned = ObjectiveNames.ParseVariance(variance).IsLearned();
                    if ((loss == "simple" && learned) || (loss == "hybrid" && !learned)) continue;
                    data.Add(loss, mean, variance);
                }
        return data;
    }

    private static RunConfig Objective(string loss, string mean, string variance, long steps = 30)
    {
        var config = TinyRuns.Config(steps, batch: 8);
        var varianceType = ObjectiveNames.ParseVariance(variance);
        return config with
        {
            Model = config.Model with { OutChannels = varianceType.OutputChannels(config.Model.InChannels), Dropout = 0 },
            Diffusion = config.Diffusion with { MeanType = ObjectiveNames.ParseMeanType(mean), VarianceType = varianceType },
            Training = config.Training with { Loss = ObjectiveNames.ParseLoss(loss), LearningRate = 1e-3, WarmupSteps = 1 },
        };
    }

    /// <summary>The objective on a fixed batch: 16 images, timesteps spread over the chain, fixed noise.</summary>
    private static double FixedBatchLoss(Trainer trainer)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var g = new Generator(11);
        var x0 = stack(Enumerable.Range(0, 16).Select(i => TinyRuns.Image(trainer.Dataset, i)).ToArray());
        var t = linspace(0, trainer.Diffusion.Timesteps - 1, 16).to(ScalarType.Int64);
        var noise = randn(x0.shape, generator: g);
        trainer.Model.eval();
        var training = trainer.Config.Training;
        var loss = trainer.Diffusion.Losses(trainer.Model.call, x0, t, noise, training.Loss, training.HybridWeight).Loss.mean().item<float>();
        trainer.Model.train();
        return loss;
    }

    [Theory]
    [MemberData(nameof(ValidObjectives))]
    public void Every_valid_objective_trains_a_tiny_model_with_falling_loss_and_samples(string loss, string mean, string variance)
    {
        var config = Objective(loss, mean, variance);
        using var trainer = new Trainer(config, TinyRuns.Patterns());
        var before = FixedBatchLoss(trainer);
        for (var i = 0; i < config.Training.Steps; i++) Assert.True(double.IsFinite(trainer.TrainStep().Loss));
        var after = FixedBatchLoss(trainer);
        Assert.True(after < before, $"{loss}/{mean}/{variance}: the loss on a fixed batch went from {before} to {after}");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = trainer.EmaModel;
        foreach (var settings in new[]
                 {
                     new SamplerSettings { Kind = SamplerKind.Ddpm, Steps = 10 },
                     new SamplerSettings { Kind = SamplerKind.Ddim, Steps = 5 },
                     new SamplerSettings { Kind = SamplerKind.DpmSolverPlusPlus, Steps = 5, Order = 2 },
                 })
        {
            var sampler = settings.Create(trainer.Diffusion);
            using var g = new Generator(5);
            var x = randn([2, 1, 8, 8], generator: g);
            foreach (var t in sampler.Timesteps)
            {
                var output = model.call(x, GaussianDiffusion.TimestepTensor(t, 2));
                x = sampler.Step(output, t, x, g).Previous;
            }
            (sampler as IDisposable)?.Dispose();
            Assert.Equal([2L, 1, 8, 8], x.shape);
            Assert.True(x.isfinite().all().item<bool>(), $"{settings.Kind} gave non-finite samples");
        }

        var estimator = new LikelihoodEstimator(trainer.Diffusion, model.call);
        var bits = estimator.Evaluate(TinyRuns.Data(), new LikelihoodSettings { Count = 2, BatchSize = 2, Seed = 1 });
        Assert.All(bits.Images, image => Assert.True(double.IsFinite(image.Total) && image.Total > 0));
    }

    [Theory]
    [InlineData("simple", "learned", "loss simple cannot train a learned variance")]
    [InlineData("simple", "learned-range", "loss simple cannot train a learned-range variance")]
    [InlineData("hybrid", "fixed-large", "loss hybrid trains a learned variance")]
    [InlineData("hybrid", "fixed-small", "loss hybrid trains a learned variance")]
    public void Objectives_that_cannot_train_are_refused_naming_the_valid_choices(string loss, string variance, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Objective(loss, "eps", variance).Validate());
        Assert.StartsWith(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(loss == "simple" ? "use loss hybrid or kl" : "use variance learned or learned-range", e.Message);
    }

    [Fact]
    public void A_learned_variance_needs_twice_the_channels_in_the_model()
    {
        var config = Objective("kl", "eps", "learned");
        var e = Assert.Throws<ArgumentException>(() => (config with { Model = config.Model with { OutChannels = 1 } }).Validate());
        Assert.Contains("need 2", e.Message);
    }

    [Fact]
    public void The_cli_refuses_an_untrainable_objective_in_one_line()
    {
        var r = CliRunner.Run("train", "--dataset", "fashion-mnist", "--loss", "simple", "--variance", "learned", "--steps", "1",
            "--out", Path.Combine(temp.Path, "refused"));
        CliRunner.AssertOneLineError(r, "loss simple cannot train a learned variance");
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "refused", "checkpoints")));
    }

    [Fact]
    public void Mu_prediction_targets_the_posterior_mean_and_its_x0_inverts_it()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 50 }, MeanType = ModelMeanType.PreviousX });
        using var g = new Generator(3);
        var x0 = rand([4, 1, 3, 3], generator: g) * 2 - 1;
        var noise = randn(x0.shape, generator: g);
        var t = tensor(new long[] { 0, 1, 25, 49 });
        var xt = d.QSample(x0, t, noise);
        var target = d.TrainingTarget(x0, t, noise);
        Assert.True(target.allclose(d.QPosteriorMeanVariance(x0, xt, t).Mean));
        Assert.True(d.PredictStart(target, xt, t).allclose(x0, rtol: 1e-4, atol: 1e-4));
        // The reverse mean of a μ̃ model is its output itself.
        Assert.True(d.PMeanVariance(target, xt, t, DenoisedHandling.None).Mean.allclose(target, rtol: 0, atol: 0));
    }

    [Fact]
    public void Learned_range_spans_the_two_fixed_variances_and_learned_is_the_output_itself()
    {
        using var scope = NewDisposeScope();
        var schedule = new ScheduleConfig { Timesteps = 50 };
        using var range = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.LearnedRange });
        using var learned = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.Learned });
        using var small = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.FixedSmall });
        var xt = randn([3, 1, 2, 2], generator: new Generator(1));
        var eps = randn(xt.shape, generator: new Generator(2));
        var t = tensor(new long[] { 1, 20, 49 });
        LogVariance(range, -1).allclose(small.PMeanVariance(eps, xt, t, DenoisedHandling.None).LogVariance.expand_as(xt));
        Assert.True(LogVariance(range, -1).allclose(small.PMeanVariance(eps, xt, t, DenoisedHandling.None).LogVariance.expand_as(xt), atol: 1e-6));
        var logBeta = range.Schedule.Betas;
        var top = LogVariance(range, 1);
        for (var i = 0; i < 3; i++) Assert.Equal(Math.Log(logBeta[new[] { 1, 20, 49 }[i]]), top[i].flatten()[0].item<float>(), 5);
        var middle = LogVariance(range, 0);
        Assert.True(middle.allclose((LogVariance(range, -1) + top) / 2, atol: 1e-6));
        Assert.True(LogVariance(learned, -3.25).allclose(full_like(xt, -3.25)));

        Tensor LogVariance(GaussianDiffusion d, double v) =>
            d.PMeanVariance(cat([eps, full_like(xt, v)], 1), xt, t, DenoisedHandling.None).LogVariance;
    }

    [Fact]
    public void The_kl_loss_is_the_bound_term_and_the_hybrid_term_trains_only_the_variance()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 40 }, VarianceType = ModelVarianceType.LearnedRange });
        using var g = new Generator(8);
        var x0 = (randint(0, 256, [3, 1, 4, 4], generator: g).to(ScalarType.Float32) + 0.5f) / 127.5f - 1.0f;
        var noise = randn(x0.shape, generator: g);
        var t = tensor(new long[] { 0, 7, 39 });
        var output = (randn([3, 2, 4, 4], generator: g) * 0.3).requires_grad_();
        var kl = d.Losses((_, _) => output, x0, t, noise, LossType.Kl);
        var xt = d.QSample(x0, t, noise);
        var term = new VariationalBound(d).Term(output.detach(), x0, xt, t, clipDenoised: false).Bits;
        Assert.True(kl.Loss.to(ScalarType.Float64).allclose(term, rtol: 1e-5));

        var hybrid = d.Losses((_, _) => output, x0, t, noise, LossType.Hybrid);
        var mse = (output.detach().narrow(1, 0, 1) - noise).square().flatten(1).mean([1]);
        Assert.True(hybrid.Mse!.allclose(mse));
        Assert.True(hybrid.Loss.allclose(mse + kl.Loss.detach() * (0.001 * 40), rtol: 1e-5));
        hybrid.Vb!.sum().backward();
        var grad = output.grad!;
        Assert.Equal(0, grad.narrow(1, 0, 1).abs().max().item<float>());
        Assert.True(grad.narrow(1, 1, 1).abs().max().item<float>() > 0);
    }

    [Fact]
    public void Respaced_ddpm_takes_a_mu_models_x0_from_the_training_chain()
    {
        using var scope = NewDisposeScope();
        using var d = new GaussianDiffusion(new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 100 }, MeanType = ModelMeanType.PreviousX });
        using var sampler = new DdpmSampler(d, new DdpmSamplerOptions { Steps = 10, Denoised = DenoisedHandling.None });
        var x0 = rand([2, 1, 3, 3], generator: new Generator(4)) * 2 - 1;
        foreach (var timestep in sampler.Timesteps)
        {
            var t = GaussianDiffusion.TimestepTensor(timestep, 2);
            var xt = d.QSample(x0, t, randn(x0.shape, generator: new Generator((ulong)timestep)));
            var oracle = d.QPosteriorMeanVariance(x0, xt, t).Mean; // the true μ̃ on the training chain
            var step = sampler.Step(oracle, timestep, xt, new Generator(1));
            Assert.True(step.PredictedStart.allclose(x0, atol: 2e-3), $"x̂0 at t = {timestep}");
        }
    }

    [Fact]
    public void Solvers_read_a_mu_model_as_the_x0_it_implies_and_ignore_a_learned_variance()
    {
        using var scope = NewDisposeScope();
        var schedule = new ScheduleConfig { Timesteps = 100 };
        using var mu = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, MeanType = ModelMeanType.PreviousX, VarianceType = ModelVarianceType.Learned });
        using var x0Model = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, MeanType = ModelMeanType.StartX });
        var xt = randn([2, 1, 3, 3], generator: new Generator(6));
        var x0 = rand([2, 1, 3, 3], generator: new Generator(7)) * 2 - 1;
        foreach (var kind in new[] { SamplerKind.Ddim, SamplerKind.DpmSolverPlusPlus, SamplerKind.UniPc })
        {
            var settings = new SamplerSettings { Kind = kind, Steps = 5, Order = 2 };
            var a = settings.Create(mu);
            var b = settings.Create(x0Model);
            var timestep = a.Timesteps[0];
            var t = GaussianDiffusion.TimestepTensor(timestep, 2);
            var muOutput = cat([mu.QPosteriorMeanVariance(x0, xt, t).Mean, full_like(xt, 7.0)], 1);
            var stepA = a.Step(muOutput, timestep, xt).Previous;
            var stepB = b.Step(x0, timestep, xt).Previous;
            Assert.True(stepA.allclose(stepB, atol: 1e-4), $"{kind}");
            (a as IDisposable)?.Dispose();
            (b as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void A_learned_range_model_at_its_ends_samples_as_the_fixed_variances()
    {
        using var scope = NewDisposeScope();
        var schedule = new ScheduleConfig { Timesteps = 30 };
        using var range = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.LearnedRange });
        using var large = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.FixedLarge });
        using var small = new GaussianDiffusion(new DiffusionConfig { Schedule = schedule, VarianceType = ModelVarianceType.FixedSmall });
        var xt = randn([2, 1, 3, 3], generator: new Generator(9));
        var eps = randn(xt.shape, generator: new Generator(10));
        var z = randn(xt.shape, generator: new Generator(12));
        foreach (var (end, fixedType) in new[] { (1.0, large), (-1.0, small) })
        {
            using var learnedSampler = new DdpmSampler(range);
            using var fixedSampler = new DdpmSampler(fixedType);
            var a = learnedSampler.Step(cat([eps, full_like(xt, end)], 1), 15, xt, noise: z).Previous;
            var b = fixedSampler.Step(eps, 15, xt, noise: z).Previous;
            Assert.True(a.allclose(b, atol: 1e-5), $"v = {end}");
        }
    }

    [Fact]
    public void Cosine_decay_starts_after_the_warm_up_and_ends_at_zero()
    {
        var c = new TrainingConfig { Steps = 110, WarmupSteps = 10, LearningRate = 1e-3, LearningRateSchedule = LearningRateSchedule.Cosine };
        Assert.Equal(1e-4, c.LearningRateAt(0), 15);
        Assert.Equal(1e-3, c.LearningRateAt(9), 15);
        Assert.Equal(1e-3 * 0.5 * (1 + Math.Cos(Math.PI * 0.01)), c.LearningRateAt(10), 15);
        Assert.Equal(0.5e-3, c.LearningRateAt(59), 15);
        Assert.Equal(0.0, c.LearningRateAt(109), 15);
        Assert.Equal(1e-3, (c with { LearningRateSchedule = LearningRateSchedule.Constant }).LearningRateAt(109));
    }

    [Fact]
    public void Importance_sampling_is_uniform_until_warm_then_proportional_to_the_loss_second_moment()
    {
        var sampler = new LossSecondMomentSampler(3);
        Assert.All(sampler.Probabilities(), p => Assert.Equal(1.0 / 3, p, 15));
        for (var k = 0; k < LossSecondMomentSampler.HistoryLength; k++) sampler.Update([0, 1], [1.0, 2.0]);
        Assert.False(sampler.WarmedUp);
        for (var k = 0; k < LossSecondMomentSampler.HistoryLength; k++) sampler.Update([2], [k < 5 ? 3.0 : 5.0]);
        Assert.True(sampler.WarmedUp);
        var second = new[] { 1.0, 2.0, Math.Sqrt((5 * 9 + 5 * 25) / 10.0) };
        var p = sampler.Probabilities();
        for (var t = 0; t < 3; t++) Assert.Equal(second[t] / second.Sum() * 0.999 + 0.001 / 3, p[t], 12);
        Assert.Equal(1.0, p.Sum(), 12);
        // A full history drops its oldest loss.
        sampler.Update([0], [4.0]);
        Assert.Equal(4.0, sampler.State.History[LossSecondMomentSampler.HistoryLength - 1]);

        using var scope = NewDisposeScope();
        var (timesteps, weights) = sampler.Sample(4000, new Generator(2));
        var drawn = timesteps.data<long>().ToArray();
        var w = weights.data<float>().ToArray();
        var probabilities = sampler.Probabilities();
        for (var i = 0; i < drawn.Length; i++) Assert.Equal(1.0 / (3 * probabilities[drawn[i]]), w[i], 4);
        var share = drawn.Count(t => t == 2) / 4000.0;
        Assert.InRange(share, probabilities[2] - 0.03, probabilities[2] + 0.03);
    }

    [Fact]
    public void Importance_sampled_training_resumes_bit_for_bit()
    {
        var config = Objective("kl", "eps", "learned-range", steps: 16);
        config = config with
        {
            Diffusion = config.Diffusion with { Schedule = new ScheduleConfig { Timesteps = 10 } },
            Training = config.Training with { ImportanceSampling = true, BatchSize = 20, SampleSteps = 3 },
        };
        var data = TinyRuns.Data();
        string straightEnd, splitEnd;
        using (var run = TrainingRun.Start(Path.Combine(temp.Path, "straight"), config, data)) straightEnd = run.Train().Checkpoint;
        var split = Path.Combine(temp.Path, "split");
        using (var run = TrainingRun.Start(split, config, data))
        {
            using var cts = new CancellationTokenSource();
            run.Train(new Progress(e => { if (e.Step == 8) cts.Cancel(); }), cancellation: cts.Token);
        }
        using (var run = TrainingRun.Resume(split, data)) splitEnd = run.Train().Checkpoint;
        Assert.True(File.ReadAllBytes(Path.Combine(straightEnd, CheckpointFiles.Ema)).SequenceEqual(File.ReadAllBytes(Path.Combine(splitEnd, CheckpointFiles.Ema))));
        var a = ConfigJson.Load<TrainingState>(Path.Combine(straightEnd, CheckpointFiles.State));
        var b = ConfigJson.Load<TrainingState>(Path.Combine(splitEnd, CheckpointFiles.State));
        Assert.All(a.LossHistoryCounts!, c => Assert.Equal(LossSecondMomentSampler.HistoryLength, c)); // importance draws happened
        Assert.Equal(a.LossHistory, b.LossHistory);
        Assert.Equal(a.TrainGeneratorState, b.TrainGeneratorState);
    }

    [Theory]
    [InlineData("hybrid", "eps", "learned-range", false)]
    [InlineData("kl", "mu", "learned", true)]
    [InlineData("simple", "v", "fixed-small", false)]
    public void Steps_of_every_loss_leave_no_live_tensors_behind(string loss, string mean, string variance, bool importance)
    {
        var config = Objective(loss, mean, variance);
        config = config with { Training = config.Training with { ImportanceSampling = importance } };
        using var trainer = new Trainer(config, TinyRuns.Patterns());
        trainer.TrainStep(); // creates Adam's state
        var before = LiveTensors.Count;
        for (var i = 0; i < 3; i++) trainer.TrainStep();
        Assert.Equal(before, LiveTensors.Count);
    }

    private sealed class Progress(Action<TrainingEvent> action) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value) => action(value);
    }

    public void Dispose() => temp.Dispose();
}
