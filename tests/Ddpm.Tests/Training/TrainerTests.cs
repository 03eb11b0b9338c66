using Ddpm.Checkpoints;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

public class TrainerTests
{
    [Fact]
    public void Loss_on_one_fixed_batch_falls_tenfold_within_300_steps_deterministically()
    {
        static (float First, float Last) Overfit()
        {
            var config = TinyRuns.Model with { Dropout = 0 };
            using var model = new UNet(config, seed: 1);
            using var diffusion = new GaussianDiffusion(new DiffusionConfig { Schedule = new() { Timesteps = 100 } });
            using var optimizer = optim.Adam(model.parameters(), lr: 2e-3);
            using var g = new Generator(9);
            using var x0 = rand([4, 1, 8, 8], generator: g) * 2 - 1;
            using var t = diffusion.SampleTimesteps(4, g);
            using var noise = randn([4, 1, 8, 8], generator: g);
            float first = 0, last = 0;
            for (var step = 0; step < 300; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = diffusion.LossSimple(model.call, x0, t, noise).mean();
                loss.backward();
                optimizer.step();
                var value = loss.item<float>();
                if (step == 0) first = value;
                last = value;
            }
            return (first, last);
        }
        var a = Overfit();
        var b = Overfit();
        Assert.True(a.Last < a.First / 10, $"loss went from {a.First} to {a.Last}");
        Assert.Equal(a, b);
    }

    [Fact]
    public void Warm_up_is_linear_then_constant()
    {
        var c = new TrainingConfig { LearningRate = 2e-4, WarmupSteps = 5000 };
        Assert.Equal(2e-4 / 5000, c.LearningRateAt(0), 15);
        Assert.Equal(2e-4 * 0.5, c.LearningRateAt(2499), 15);
        Assert.Equal(2e-4, c.LearningRateAt(4999), 15);
        Assert.Equal(2e-4, c.LearningRateAt(100_000), 15);
        Assert.Equal(2e-4, (c with { WarmupSteps = 0 }).LearningRateAt(0), 15);
    }

    [Fact]
    public void Ema_moves_toward_the_live_weights_by_one_minus_decay()
    {
        using var live = nn.Linear(2, 1);
        using var ema = nn.Linear(2, 1);
        using (no_grad())
        {
            live.weight!.fill_(1);
            live.bias!.fill_(1);
            ema.weight!.fill_(0);
            ema.bias!.fill_(0);
        }
        var average = new ExponentialMovingAverage(live, ema, 0.9);
        average.Update();
        Assert.Equal(0.1f, ema.weight!.data<float>()[0], 6);
        average.Update();
        Assert.Equal(0.19f, ema.bias!.data<float>()[0], 6);
        average.CopyFromLive();
        Assert.Equal(1f, ema.weight!.data<float>()[1]);
    }

    [Fact]
    public void A_step_reports_its_metrics_and_counts_images()
    {
        using var trainer = new Trainer(TinyRuns.Config() with { Training = TinyRuns.Config().Training with { GradientAccumulation = 2 } }, TinyRuns.Data());
        var m = trainer.TrainStep();
        Assert.Equal(1, m.Step);
        Assert.Equal(12, m.Images);
        Assert.True(m.Loss > 0 && double.IsFinite(m.Loss));
        Assert.True(m.GradientNorm > 0);
        Assert.Equal(1e-3 / 2, m.LearningRate, 12);
        Assert.Equal(12, trainer.ImagesSeen);
    }

    [Fact]
    public void Training_steps_leave_no_live_tensors_behind()
    {
        using var trainer = new Trainer(TinyRuns.Config(), TinyRuns.Data());
        trainer.TrainStep(); // creates Adam's state
        var before = LiveTensors.Count;
        for (var i = 0; i < 4; i++) trainer.TrainStep();
        Assert.Equal(before, LiveTensors.Count);
    }

    [Fact]
    public void Gradients_are_released_after_each_step_as_with_set_to_none()
    {
        using var trainer = new Trainer(TinyRuns.Config(), TinyRuns.Data());
        var m = trainer.TrainStep();
        Assert.True(m.GradientNorm > 0);
        Assert.All(trainer.Model.parameters(), p =>
        {
            using var g = p.grad;
            Assert.Null(g);
        });
    }

    [Fact]
    public void Data_that_does_not_fit_the_model_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Trainer(TinyRuns.Config() with { Model = TinyRuns.Model with { ImageSize = 16 } }, TinyRuns.Data()));
        Assert.Contains("8×8", e.Message);
        Assert.Throws<ArgumentException>(() => new Trainer(TinyRuns.Config(batch: 64), TinyRuns.Data()));
    }
}

public class MixedPrecisionTests
{
    [Fact]
    public void Bf16_training_keeps_float32_master_weights_and_tracks_the_float32_loss()
    {
        var fp32Config = TinyRuns.Config() with { Model = TinyRuns.Model with { Dropout = 0 } };
        var bf16Config = fp32Config with { Training = fp32Config.Training with { Precision = Precision.Bf16 } };
        using var fp32 = new Trainer(fp32Config, TinyRuns.Data());
        using var bf16 = new Trainer(bf16Config, TinyRuns.Data());
        double sum32 = 0, sum16 = 0;
        for (var i = 0; i < 6; i++)
        {
            sum32 += fp32.TrainStep().Loss;
            sum16 += bf16.TrainStep().Loss;
        }
        Assert.All(bf16.Model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.All(bf16.EmaModel.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        // Same data, timesteps and noise: bfloat16 rounding (8 bits of mantissa) moves the loss by well under 5 %.
        Assert.Equal(sum32, sum16, sum32 * 0.05);
        Assert.NotEqual(sum32, sum16);
    }

    [Fact]
    public void Bf16_steps_leave_no_live_tensors_behind()
    {
        var config = TinyRuns.Config() with { Training = TinyRuns.Config().Training with { Precision = Precision.Bf16 } };
        using var trainer = new Trainer(config, TinyRuns.Data());
        trainer.TrainStep();
        var before = LiveTensors.Count;
        for (var i = 0; i < 3; i++) trainer.TrainStep();
        Assert.Equal(before, LiveTensors.Count);
    }
}
