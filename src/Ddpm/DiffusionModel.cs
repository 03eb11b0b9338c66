using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Diffusion;
using Ddpm.Interop;
using Ddpm.Models;
using Ddpm.Sampling;
using Ddpm.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm;

/// <summary>
/// A trained model ready to sample: the U-Net (EMA weights by default), its diffusion process and configuration,
/// loaded from a run folder (its latest checkpoint) or a checkpoint folder (which may hold EMA weights only).
/// </summary>
/// <example>
/// <code>
/// using var model = DiffusionModel.Load("models/fashion-mnist");
/// using var images = model.Sample(16, SamplerSettings.Ddim(50), seed: 1);
/// ImageGrid.SavePng(images, "samples.png");
/// </code>
/// </example>
public sealed class DiffusionModel : IDisposable
{
    private DiffusionModel(RunConfig config, UNet network, string directory, bool usesEma, TrainingState? state, Precision precision)
    {
        Precision = precision;
        Config = config;
        Network = network;
        Diffusion = new GaussianDiffusion(config.Diffusion);
        CheckpointDirectory = directory;
        UsesEma = usesEma;
        State = state;
    }

    /// <summary>The configuration the model was trained with.</summary>
    public RunConfig Config { get; }

    /// <summary>The network, in eval mode.</summary>
    public UNet Network { get; }

    /// <summary>The diffusion process the network was trained for.</summary>
    public GaussianDiffusion Diffusion { get; }

    /// <summary>The device the network and every tensor a sampling step creates are on.</summary>
    public Device Device => Network.parameters().First().device;

    /// <summary>The precision the network computes in (weights are cast on load; sampler math stays float32).</summary>
    public Precision Precision { get; }

    /// <summary>The checkpoint folder the weights came from.</summary>
    public string CheckpointDirectory { get; }

    /// <summary>Whether the EMA weights were loaded.</summary>
    public bool UsesEma { get; }

    /// <summary>The training state saved with the checkpoint, if any (published models may have none).</summary>
    public TrainingState? State { get; }

    /// <summary>The layout the weights were read from.</summary>
    public WeightsLayout Layout { get; private init; } = WeightsLayout.Ddpm;

    /// <summary>
    /// Loads a run folder's latest checkpoint or a checkpoint folder, or weights in another layout, told apart by
    /// <see cref="ModelFormats.Detect"/>: a diffusers <c>UNet2DModel</c> folder or a pesser/pytorch_diffusion
    /// <c>.ckpt</c> file (see docs/interop.md). EMA weights are used when present and <paramref name="preferEma"/> is
    /// set; otherwise the raw weights (other layouts hold one set). The network goes to <paramref name="device"/> (the CPU
    /// when null). <paramref name="import"/> supplies what a <c>.ckpt</c> does not record (image size).
    /// </summary>
    public static DiffusionModel Load(string path, bool preferEma = true, Precision precision = Precision.Fp32, Device? device = null, ImportOptions? import = null)
    {
        if (ModelFormats.Detect(path) != WeightsLayout.Ddpm)
        {
            var imported = ModelFormats.Import(path, import);
            imported.Network.eval();
            if (device is not null && device.type != DeviceType.CPU) imported.Network.to(device);
            if (precision == Precision.Bf16) imported.Network.to(ScalarType.BFloat16);
            return new DiffusionModel(imported.Config, imported.Network, imported.Source, usesEma: false, state: null, precision) { Layout = imported.Layout };
        }
        var directory = CheckpointStore.Resolve(path);
        var config = ConfigJson.Load<RunConfig>(Path.Combine(directory, CheckpointFiles.Config)).Validate();
        var emaPath = Path.Combine(directory, CheckpointFiles.Ema);
        var modelPath = Path.Combine(directory, CheckpointFiles.Model);
        var usesEma = preferEma ? File.Exists(emaPath) : !File.Exists(modelPath);
        var weights = usesEma ? emaPath : modelPath;
        var statePath = Path.Combine(directory, CheckpointFiles.State);
        var state = File.Exists(statePath) ? ConfigJson.Load<TrainingState>(statePath) : null;
        var network = new UNet(config.Model);
        try
        {
            network.LoadSafetensors(weights);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            network.Dispose();
            throw new InvalidDataException($"{weights}: cannot load weights for this model ({e.Message.Split('\n')[0]}).", e);
        }
        network.eval();
        if (device is not null && device.type != DeviceType.CPU) network.to(device);
        if (precision == Precision.Bf16) network.to(ScalarType.BFloat16);
        return new DiffusionModel(config, network, directory, usesEma, state, precision);
    }

    /// <summary>The network's prediction for x_t at 0-based timesteps t (both on <see cref="Device"/>); a class-conditional model sees the null class.</summary>
    public Tensor Predict(Tensor x, Tensor t) => Predict(x, t, ModelConditioning.None);

    /// <summary>The network's prediction for x_t at 0-based timesteps t given <paramref name="conditioning"/> (labels, a conditioning image).</summary>
    public Tensor Predict(Tensor x, Tensor t, ModelConditioning conditioning)
    {
        if (Precision == Precision.Fp32) return Network.ForwardConditioned(x, t, conditioning.Labels, conditioning.Image);
        using var scope = NewDisposeScope();
        using var input = x.to(ScalarType.BFloat16);
        var image = conditioning.Image?.to(ScalarType.BFloat16);
        return Network.ForwardConditioned(input, t, conditioning.Labels, image).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Whether the model is class-conditional (<see cref="UNetConfig.NumClasses"/> &gt; 0).</summary>
    public bool IsClassConditional => Config.Model.NumClasses > 0;

    /// <summary>The class names of a class-conditional model, index = label (empty otherwise).</summary>
    public IReadOnlyList<string> ClassNames => Config.Conditioning.ClassNames;

    /// <summary>
    /// Runs <paramref name="request"/> (its shape must be the model's) with the given sampler (the recommended one by
    /// default): labels and guidance, a conditioning image, start images (SDEdit) or inpainting, as the request says.
    /// </summary>
    public Tensor Generate(SampleRequest request, SamplerSettings? sampler = null, IProgress<SamplingProgress>? progress = null,
        Action<PredictedStartEvent>? onPredictedStart = null)
    {
        var m = Config.Model;
        if (request.Channels != m.InChannels || request.Height != m.ImageSize || request.Width != m.ImageSize)
            throw new ArgumentException($"this model draws {m.InChannels}×{m.ImageSize}×{m.ImageSize} images, not {request.Channels}×{request.Height}×{request.Width}.");
        if (request.Labels is not null && !IsClassConditional) throw new ArgumentException("this model is not class-conditional: it takes no class.");
        if (m.ConditionChannels > 0 && request.ConditionImage is null)
            throw new ArgumentException($"this model is conditioned on a {m.ConditionChannels}-channel image: give one per sample.");
        var s = (sampler ?? SamplerSettings.Recommended).Create(Diffusion);
        try
        {
            return new SamplingPipeline(Predict, s, Diffusion, Device).Generate(request, progress, onPredictedStart);
        }
        finally
        {
            (s as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// Draws <paramref name="count"/> images [count, C, H, W] in [−1, 1] with the given sampler (DDPM over the full chain
    /// by default). Image i depends only on (<paramref name="seed"/>, i), not on the batch size; the images drawn are
    /// i = <paramref name="firstIndex"/> … firstIndex + count − 1, so a shard of a larger run gives that run's images.
    /// With <paramref name="shareFrom"/> the images share one trajectory down to that timestep (<see cref="SampleRequest.ShareFrom"/>).
    /// A class-conditional model draws the classes of <paramref name="labels"/> (one per image) with classifier-free
    /// guidance scale <paramref name="guidance"/> (<see cref="SampleRequest.GuidanceScale"/>).
    /// </summary>
    public Tensor Sample(int count, SamplerSettings? sampler = null, long seed = 0, int batchSize = 64,
        IProgress<SamplingProgress>? progress = null, Action<PredictedStartEvent>? onPredictedStart = null, long firstIndex = 0,
        int? shareFrom = null, IReadOnlyList<long>? labels = null, double guidance = 1)
    {
        var m = Config.Model;
        var request = new SampleRequest(count, m.InChannels, m.ImageSize, m.ImageSize, seed, batchSize)
        {
            FirstIndex = firstIndex,
            ShareFrom = shareFrom,
            Labels = labels,
            GuidanceScale = guidance,
        };
        return Generate(request,
            sampler ?? SamplerSettings.Ddpm(), progress, onPredictedStart);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Network.Dispose();
        Diffusion.Dispose();
    }
}
