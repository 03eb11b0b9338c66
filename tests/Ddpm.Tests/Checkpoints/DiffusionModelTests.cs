using Ddpm.Checkpoints;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Checkpoints;

public sealed class DiffusionModelTests : IDisposable
{
    private readonly TempFolder temp = new();

    private string TrainedRun()
    {
        var dir = Path.Combine(temp.Path, "run");
        using var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 3), TinyRuns.Data());
        run.Train();
        return dir;
    }

    [Fact]
    public void Checkpoint_round_trip_restores_the_ema_and_raw_weights()
    {
        var dir = Path.Combine(temp.Path, "rt");
        using var run = TrainingRun.Start(dir, TinyRuns.Config(steps: 3), TinyRuns.Data());
        run.Train();
        using var ema = DiffusionModel.Load(dir);
        using var raw = DiffusionModel.Load(dir, preferEma: false);
        Assert.True(ema.UsesEma);
        Assert.False(raw.UsesEma);
        Assert.Equal(3, ema.State!.Step);
        var trained = run.Trainer.EmaModel.state_dict();
        foreach (var (name, tensor) in ema.Network.state_dict()) Assert.True(Same.Bytes(trained[name], tensor), name);
        var live = run.Trainer.Model.state_dict();
        foreach (var (name, tensor) in raw.Network.state_dict()) Assert.True(Same.Bytes(live[name], tensor), name);
        Assert.Equal(TinyRuns.Model, ema.Config.Model with { AttentionResolutions = TinyRuns.Model.AttentionResolutions, ChannelMultipliers = TinyRuns.Model.ChannelMultipliers });
        Assert.Equal(TinyRuns.Model.ChannelMultipliers, ema.Config.Model.ChannelMultipliers);
    }

    [Fact]
    public void A_folder_with_only_config_and_ema_weights_samples()
    {
        var source = CheckpointStore.Resolve(TrainedRun());
        var published = Path.Combine(temp.Path, "published");
        Directory.CreateDirectory(published);
        foreach (var f in new[] { CheckpointFiles.Config, CheckpointFiles.Ema }) File.Copy(Path.Combine(source, f), Path.Combine(published, f));
        using var model = DiffusionModel.Load(published);
        Assert.Null(model.State);
        using var scope = NewDisposeScope();
        var a = model.Sample(3, SamplerSettings.Ddim(5), seed: 2);
        var b = model.Sample(3, SamplerSettings.Ddim(5), seed: 2, batchSize: 2);
        Assert.Equal([3L, 1, 8, 8], a.shape);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Bf16_sampling_stays_close_to_float32()
    {
        var run = TrainedRun();
        using var fp32 = DiffusionModel.Load(run);
        using var bf16 = DiffusionModel.Load(run, precision: Precision.Bf16);
        Assert.Equal(ScalarType.BFloat16, bf16.Network.parameters().First().dtype);
        using var scope = NewDisposeScope();
        var a = fp32.Sample(4, SamplerSettings.Ddim(5), seed: 3);
        var b = bf16.Sample(4, SamplerSettings.Ddim(5), seed: 3);
        Assert.Equal(ScalarType.Float32, b.dtype);
        // Same noise; bfloat16's 8-bit mantissa perturbs each model call slightly.
        Assert.True((a - b).abs().mean().item<float>() < 0.05, $"mean |fp32 − bf16| = {(a - b).abs().mean().item<float>()}");
    }

    [Fact]
    public void Missing_or_broken_checkpoints_are_clear_errors()
    {
        Assert.Throws<FileNotFoundException>(() => DiffusionModel.Load(Path.Combine(temp.Path, "nothing-here")));
        var empty = Path.Combine(temp.Path, "empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("no complete checkpoint", Assert.Throws<FileNotFoundException>(() => DiffusionModel.Load(empty)).Message);
        var source = CheckpointStore.Resolve(TrainedRun());
        var broken = Path.Combine(temp.Path, "broken");
        Directory.CreateDirectory(broken);
        File.Copy(Path.Combine(source, CheckpointFiles.Config), Path.Combine(broken, CheckpointFiles.Config));
        File.WriteAllBytes(Path.Combine(broken, CheckpointFiles.Ema), [1, 2, 3]);
        Assert.Throws<InvalidDataException>(() => DiffusionModel.Load(broken));
        File.WriteAllText(Path.Combine(broken, CheckpointFiles.Config), "{ not json");
        Assert.Throws<InvalidDataException>(() => DiffusionModel.Load(broken));
    }

    public void Dispose() => temp.Dispose();
}
