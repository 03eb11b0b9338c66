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

    /// <summary>
    /// <paramref name="count"/> 8×8 grey images with structure a denoiser can learn: each is a vertical stripe pattern
    /// (one of four) at a random contrast and offset. On <see cref="Data"/>'s independent uniform pixels the weighted terms
    /// of the bound, dominated by the low-noise steps, have almost nothing to learn.
    /// </summary>
    public static ByteImageDataset Patterns(int count = 40, long seed = 3)
    {
        using var g = new Generator((ulong)seed);
        using var levels = rand([count, 2], generator: g);
        var l = levels.data<float>().ToArray();
        var images = new List<byte[]>();
        for (var i = 0; i < count; i++)
        {
            var period = 2 + i % 4;
            var image = new byte[64];
            for (var y = 0; y < 8; y++)
                for (var x = 0; x < 8; x++)
                {
                    var on = (x / (period / 2.0)) % 2 < 1;
                    var value = on ? 40 + 100 * l[2 * i] : 140 + 100 * l[2 * i + 1];
                    image[y * 8 + x] = (byte)Math.Round(value);
                }
            images.Add(image);
        }
        return new ByteImageDataset("tiny-patterns", 1, 8, 8, images, Enumerable.Range(0, count).Select(i => i % 4).ToList());
    }

    /// <summary>Image <paramref name="index"/> of <paramref name="data"/> as a float [C, H, W] tensor in [−1, 1].</summary>
    public static Tensor Image(IDataset data, int index)
    {
        var pixels = new float[data.Channels * data.Height * data.Width];
        data.CopyImage(index, pixels);
        return tensor(pixels, [data.Channels, data.Height, data.Width]);
    }
}
