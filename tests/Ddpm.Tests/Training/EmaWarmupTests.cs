using Ddpm.Checkpoints;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

/// <summary>The EMA warm-up: TensorFlow's num_updates form, recorded in the configuration, continued across resumption.</summary>
public sealed class EmaWarmupTests : IDisposable
{
    private readonly TempFolder temp = new();

    private string root => temp.Path;

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Decay_grows_as_one_plus_n_over_ten_plus_n_up_to_the_target()
    {
        var c = new TrainingConfig { EmaDecay = 0.999 };
        Assert.True(c.EmaWarmup);
        for (long n = 0; n < 20_000; n += 37)
            Assert.Equal(Math.Min(0.999, (1.0 + n) / (10.0 + n)), c.EmaDecayAt(n), 15);
        Assert.Equal(0.1, c.EmaDecayAt(0), 15);
        Assert.Equal(0.5, c.EmaDecayAt(8), 15);
        Assert.Equal(0.999, c.EmaDecayAt(8990), 15); // (1 + n)/(10 + n) = 0.999 at n = 8990
        Assert.True(c.EmaDecayAt(8989) < 0.999);
        var plain = c with { EmaWarmup = false };
        Assert.Equal(0.999, plain.EmaDecayAt(0), 15);
        Assert.Equal(0.999, plain.EmaDecayAt(12_345), 15);
    }

    [Fact]
    public void A_configuration_saved_without_the_field_keeps_the_plain_ema()
    {
        var path = Path.Combine(root, "config.json");
        ConfigJson.Save(new RunConfig(), path);
        Assert.True(ConfigJson.Load<RunConfig>(path).Training.EmaWarmup);
        var text = File.ReadAllText(path);
        Assert.Contains("\"ema_warmup\": true", text);
        File.WriteAllText(path, text.Replace("\"ema_warmup\": true,", ""));
        var old = ConfigJson.Load<RunConfig>(path);
        Assert.False(old.Training.EmaWarmup);
        Assert.Equal(new RunConfig().Training with { EmaWarmup = false }, old.Training);
        ConfigJson.Save(new RunConfig() with { Training = new TrainingConfig { EmaWarmup = false } }, path);
        Assert.False(ConfigJson.Load<RunConfig>(path).Training.EmaWarmup);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_first_update_uses_the_warm_up_decay(bool warmup)
    {
        var config = TinyRuns.Config(steps: 1);
        config = config with { Training = config.Training with { EmaWarmup = warmup } };
        using var trainer = new Trainer(config, TinyRuns.Data());
        using var scope = NewDisposeScope();
        var initial = trainer.EmaModel.parameters().Select(p => p.detach().clone()).ToList();
        trainer.TrainStep();
        var decay = warmup ? 0.1 : 0.9;
        var live = trainer.Model.parameters().ToList();
        var ema = trainer.EmaModel.parameters().ToList();
        for (var i = 0; i < ema.Count; i++)
        {
            var expected = initial[i] * decay + live[i].detach() * (1 - decay);
            Assert.True(ema[i].allclose(expected, rtol: 0, atol: 1e-6), $"parameter {i}");
        }
    }

    [Fact]
    public void The_resume_test_runs_with_the_warm_up_on()
    {
        // ResumeTests compares the EMA weights of a straight and a resumed run bit for bit: with the warm-up on for all
        // 10 steps ((1 + n)/(10 + n) < 0.9 below n = 80), a resumed run that restarted the update count would differ.
        var training = TinyRuns.Config().Training;
        Assert.True(training.EmaWarmup);
        Assert.True(training.EmaDecayAt(training.Steps - 1) < training.EmaDecay);
    }
}
