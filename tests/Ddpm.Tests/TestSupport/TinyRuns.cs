using Ddpm.Checkpoints;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Schedules;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.TestSupport;

/// <summary>Tiny models, data and runs that train in milliseconds per step.</summary>
internal static class TinyRuns
{
    /// <summary>An 8×8 grey U-Net with two levels, attention at 4×4 and dropout.</summary>
    public static UNetConfig Model { get; } = new()
    {
        ImageSize = 8,
        InChannels = 1,
        OutChannels = 1,
        BaseChannels = 32,
        ChannelMultipliers = [1, 2],
        NumResBlocks = 1,
        AttentionResolutions = [4],
        Dropout = 0.1,
    };

    public static RunConfig Config(long steps = 10, int batch = 6) => new()
    {
        Preset = "tiny",
        Model = Model,
        Diffusion = new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 100 } },
        Training = new TrainingConfig
        {
            Steps = steps,
            BatchSize = batch,
            WarmupSteps = 2,
            LearningRate = 1e-3,
            EmaDecay = 0.9,
            RandomFlip = true,
            Seed = 7,
            SampleEvery = 0,
            CheckpointEvery = 0,
            SampleCount = 4,
            SampleSteps = 5,
        },
        Data = new DataConfig { Dataset = "tiny" },
    };

    /// <summary>An untrained <see cref="Model"/> in eval mode, initialised from <paramref name="seed"/>.</summary>
    public static UNet Network(long seed)
    {
        torch.manual_seed(seed);
        var network = new UNet(Model);
        network.eval();
        return network;
    }

    /// <summary><paramref name="count"/> random 8×8 grey images with labels, from a fixed seed.</summary>
    public static ByteImageDataset Data(int count = 40, long seed = 3)
    {
        using var g = new Generator((ulong)seed);
        using var bytes = randint(0, 256, [count, 64], dtype: ScalarType.Int32, generator: g);
        var values = bytes.data<int>().ToArray();
        var images = Enumerable.Range(0, count).Select(i => values.Skip(i * 64).Take(64).Select(v => (byte)v).ToArray()).ToList();
        var labels = Enumerable.Range(0, count).Select(i => i % 10).ToList();
        return new ByteImageDataset("tiny", 1, 8, 8, images, labels);
    }
}
