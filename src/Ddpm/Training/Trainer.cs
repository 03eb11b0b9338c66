using System.Diagnostics;
using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Runtime;
using Ddpm.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// Algorithm 1 of Ho et al. 2020 with the paper's recipe: x_0 from the data, t ~ U{0..T−1}, ε ~ N(0, I),
/// a gradient step on L_simple with Adam, linear warm-up, gradient clipping, and an EMA of the weights; or on any
/// objective of Table 2 (<see cref="TrainingConfig.Loss"/>, the diffusion's mean and variance types), with timesteps
/// drawn by importance when <see cref="TrainingConfig.ImportanceSampling"/> is set.
/// All randomness comes from the configured seed: weights, data order and flips, timesteps and noise (the trainer's
/// generator), and dropout (the network's <see cref="DropoutStream"/>). Both streams are saved with checkpoints.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Adam optimizer;
    private readonly ExponentialMovingAverage ema;
    private readonly Generator generator;
    private readonly List<Parameter> parameters;
    private readonly UNet? computeModel;
    private readonly List<(Parameter Compute, Parameter Master)> computePairs = [];
    private BatchLoader loader;
    private readonly LossSecondMomentSampler? importance;

    // Clipping, Adam and the EMA in one pass over memory (FusedAdam) wherever it applies: float32 master weights.
    private readonly bool fusedUpdate;

    /// <summary>
    /// A fresh run of <paramref name="config"/> on <paramref name="dataset"/>, on <paramref name="device"/> (the CPU when
    /// null): the networks, gradients, optimizer state and EMA live there, and every tensor a step creates goes there.
    /// Timesteps, noise and dropout masks are drawn on the CPU (their generators' state is saved with checkpoints) and
    /// moved, so a run continues identically on another device up to that device's arithmetic.
    /// </summary>
    public Trainer(RunConfig config, IDataset dataset, Device? device = null)
    {
        Device = device ?? CPU;
        Config = config.Validate();
        Dataset = dataset;
        var model = config.Model;
        if (dataset.Channels != model.InChannels || dataset.Height != model.ImageSize || dataset.Width != model.ImageSize)
        {
            throw new ArgumentException(
                $"The data set '{dataset.Name}' has {dataset.Channels}×{dataset.Height}×{dataset.Width} images but the model expects {model.InChannels}×{model.ImageSize}×{model.ImageSize}.");
        }
        var training = config.Training;
        if (dataset.Count < training.BatchSize)
            throw new ArgumentException($"The data set '{dataset.Name}' has {dataset.Count} images, fewer than one batch of {training.BatchSize}.");

        if (model.NumClasses > 0 && dataset.NumClasses != model.NumClasses)
        {
            throw new ArgumentException(dataset.NumClasses == 0
                ? $"The data set '{dataset.Name}' has no labels: a class-conditional model needs labelled images."
                : $"The data set '{dataset.Name}' has {dataset.NumClasses} classes but the model {model.NumClasses}.");
        }

        Diffusion = new GaussianDiffusion(config.Diffusion);
        Model = new UNet(model, training.Seed);
        EmaModel = new UNet(model, training.Seed);
        if (Device.type != DeviceType.CPU)
        {
            Model.to(Device);
            EmaModel.to(Device);
        }
        Model.train();
        EmaModel.eval();
        ema = new ExponentialMovingAverage(Model, EmaModel, training.EmaDecay);
        ema.CopyFromLive();
        parameters = Model.parameters().ToList();
        optimizer = optim.Adam(parameters, lr: training.LearningRate);
        fusedUpdate = FusedAdam.Supports(optimizer);
        if (training.Precision == Precision.Bf16)
        {
            // Mixed precision: forward and backward run on a bfloat16 copy; the float32 master weights, their gradients,
            // Adam's moments and the EMA stay float32 (Micikevicius et al. 2018, §3.1, with bf16 needing no loss scaling).
            computeModel = new UNet(model, training.Seed);
            computeModel.to(ScalarType.BFloat16);
            if (Device.type != DeviceType.CPU) computeModel.to(Device);
            computeModel.train();
            var masters = Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in computeModel.named_parameters()) computePairs.Add((p, masters[name]));
        }
        generator = new Generator((ulong)SampleSeeds.For(training.Seed, StreamTimestepsAndNoise));
        if (training.ImportanceSampling) importance = new LossSecondMomentSampler(Diffusion.Timesteps);
        DropoutSource.Reset(SampleSeeds.For(training.Seed, StreamDropout));
        loader = new BatchLoader(dataset, training.BatchSize, training.Seed, RandomFlip);
        _ = Diffusion.Schedule.Tensors;
    }

    // Independent random streams derived from the one training seed.
    private const long StreamTimestepsAndNoise = 1;
    private const long StreamDropout = 2;

    /// <summary>The device the networks and every tensor of a step are on.</summary>
    public Device Device { get; }

    /// <summary>The run's configuration.</summary>
    public RunConfig Config { get; }

    /// <summary>The training data.</summary>
    public IDataset Dataset { get; }

    /// <summary>The diffusion process.</summary>
    public GaussianDiffusion Diffusion { get; }

    /// <summary>The network being trained.</summary>
    public UNet Model { get; }

    /// <summary>The exponential moving average of <see cref="Model"/>'s weights, in eval mode, used for sampling.</summary>
    public UNet EmaModel { get; }

    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; private set; }

    /// <summary>Images trained on so far.</summary>
    public long ImagesSeen { get; private set; }

    /// <summary>Seconds spent in <see cref="TrainStep"/> so far (across resumptions).</summary>
    public double TrainSeconds { get; private set; }

    /// <summary>Whether random flips are on: the configured value or the data set's default.</summary>
    public bool RandomFlip => Config.Training.RandomFlip ?? DatasetNames.DefaultRandomFlip(Config.Data.Dataset);

    /// <summary>One optimizer step over <see cref="TrainingConfig.GradientAccumulation"/> micro-batches.</summary>
    public StepMetrics TrainStep()
    {
        CpuTuning.BeginStep();
        var training = Config.Training;
        var clock = Stopwatch.StartNew();
        double loss = 0;
        double gradNorm;
        var lr = training.LearningRateAt(Step);
        // The update count is the optimizer step, saved in state.json, so a resumed run continues the warm-up exactly.
        var emaDecay = training.EmaDecayAt(Step);
        using (var scope = NewDisposeScope())
        {
            ReleaseGradients();
            if (computeModel is not null) CopyMasterToCompute();
            for (var micro = 0; micro < training.GradientAccumulation; micro++)
            {
                using var batch = loader.Next();
                var x0 = OnDevice(batch.Images);
                var batchSize = (int)x0.shape[0];
                var (drawn, weights) = importance is null ? (Diffusion.SampleTimesteps(batchSize, generator), null) : importance.Sample(batchSize, generator);
                var t = OnDevice(drawn);
                var noise = OnDevice(randn(x0.shape, generator: generator));
                var conditioning = Conditioning(x0, batch.Labels);
                var losses = Diffusion.Losses((x, steps) => Forward(x, steps, conditioning), x0, t, noise, training.Loss, training.HybridWeight);
                var microLoss = (weights is null ? losses.Loss : losses.Loss * OnDevice(weights)).mean();
                if (importance is not null)
                {
                    using var perExample = losses.Loss.detach().to(ScalarType.Float64).cpu();
                    importance.Update(drawn.data<long>().ToArray(), perExample.data<double>().ToArray());
                }
                if (training.GradientAccumulation > 1) microLoss = microLoss / training.GradientAccumulation;
                microLoss.backward();
                loss += microLoss.item<float>();
                scope.DisposeEverythingBut();
            }
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"The loss became {loss} at step {Step + 1}; the last checkpoint is intact (try a lower --lr).");
            if (computeModel is not null) CopyComputeGradientsToMaster();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            if (fusedUpdate)
            {
                var (norm, scale) = FusedAdam.ClipScale(parameters, training.GradientClip);
                gradNorm = norm;
                FusedAdam.Step(optimizer, scale, ema.AverageOf, emaDecay);
            }
            else
            {
                gradNorm = nn.utils.clip_grad_norm_(parameters, training.GradientClip);
                InPlaceAdam.Step(optimizer);
                ema.Update(emaDecay);
            }
            // Gradients are released, not zeroed, as PyTorch's zero_grad(set_to_none=True): they do not occupy memory
            // during the next forward pass, when the activations peak.
            ReleaseGradients();
        }
        CpuTuning.EndStep();
        Step++;
        var images = training.BatchSize * training.GradientAccumulation;
        ImagesSeen += images;
        var seconds = clock.Elapsed.TotalSeconds;
        TrainSeconds += seconds;
        return new StepMetrics(Step, loss, gradNorm, lr, images, seconds);
    }

    /// <summary><paramref name="x"/> (drawn or loaded on the CPU) on <see cref="Device"/>.</summary>
    private Tensor OnDevice(Tensor x) => Device.type == DeviceType.CPU ? x : x.to(Device);

    /// <summary>The dropout stream of the network that runs the forward pass (the bfloat16 copy under mixed precision).</summary>
    private DropoutStream DropoutSource => (computeModel ?? Model).Dropout;

    /// <summary>The network call used for the loss: float32, or bfloat16 inputs into the compute copy.</summary>
    private Tensor Forward(Tensor x, Tensor t, ModelConditioning conditioning) => computeModel is null
        ? Model.ForwardConditioned(x, t, conditioning.Labels, conditioning.Image)
        : computeModel.ForwardConditioned(x.to(ScalarType.BFloat16), t, conditioning.Labels, conditioning.Image);

    /// <summary>
    /// A micro-batch's conditioning: its labels with each replaced by the null class (−1) with probability
    /// <see cref="ConditioningConfig.LabelDropout"/> (drawn from the trainer's generator, after the noise) for a
    /// class-conditional model, and the upsampled low-resolution images for super-resolution.
    /// </summary>
    private ModelConditioning Conditioning(Tensor x0, Tensor labels)
    {
        var conditioning = Config.Conditioning;
        Tensor? kept = null;
        if (Config.Model.NumClasses > 0)
        {
            kept = OnDevice(LabelDropout.Apply(labels, conditioning.LabelDropout, generator));
        }
        var image = conditioning.Task == ConditioningTask.SuperResolution ? SuperResolution.ConditionFor(x0, conditioning.Scale) : null;
        return new ModelConditioning(kept, image);
    }

    private void CopyMasterToCompute()
    {
        using var noGrad = no_grad();
        foreach (var (compute, master) in computePairs) compute.copy_(master);
    }

    private void CopyComputeGradientsToMaster()
    {
        foreach (var (compute, master) in computePairs)
        {
            using var grad = compute.grad;
            master.grad = grad?.to(ScalarType.Float32);
            compute.grad = null;
        }
    }

    private void ReleaseGradients()
    {
        foreach (var p in parameters) p.grad = null;
        foreach (var (compute, _) in computePairs) compute.grad = null;
    }

    /// <summary>Writes every file of a checkpoint (weights, EMA, optimizer, state, config) into <paramref name="directory"/>.</summary>
    public void WriteCheckpoint(string directory, double? recentLoss = null)
    {
        Directory.CreateDirectory(directory);
        Model.save_safetensors(Path.Combine(directory, CheckpointFiles.Model));
        EmaModel.save_safetensors(Path.Combine(directory, CheckpointFiles.Ema));
        optimizer.save_py(Path.Combine(directory, CheckpointFiles.Optimizer));
        var state = new TrainingState
        {
            Step = Step,
            LoaderEpoch = loader.State.Epoch,
            LoaderOffset = loader.State.Offset,
            TrainGeneratorState = Convert.ToBase64String(StateBytes(generator.get_state())),
            DropoutSeed = DropoutSource.Seed,
            DropoutPosition = DropoutSource.Position,
            ImagesSeen = ImagesSeen,
            TrainSeconds = TrainSeconds,
            RecentLoss = recentLoss,
            LossHistory = importance?.State.History,
            LossHistoryCounts = importance?.State.Counts,
        };
        ConfigJson.Save(state, Path.Combine(directory, CheckpointFiles.State));
        ConfigJson.Save(Config, Path.Combine(directory, CheckpointFiles.Config));
    }

    /// <summary>Restores everything <see cref="WriteCheckpoint"/> wrote, so training continues exactly as if never stopped.</summary>
    public void RestoreCheckpoint(string directory)
    {
        var statePath = Path.Combine(directory, CheckpointFiles.State);
        var state = ConfigJson.Load<TrainingState>(statePath);
        foreach (var file in new[] { CheckpointFiles.Model, CheckpointFiles.Ema, CheckpointFiles.Optimizer })
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing; this checkpoint cannot resume training.", path);
        }
        Model.LoadSafetensors(Path.Combine(directory, CheckpointFiles.Model));
        EmaModel.LoadSafetensors(Path.Combine(directory, CheckpointFiles.Ema));
        optimizer.load_py(Path.Combine(directory, CheckpointFiles.Optimizer));
        using (var s = FromBytes(Convert.FromBase64String(state.TrainGeneratorState))) generator.set_state(s);
        // Checkpoints written before the dropout stream existed have no seed: the stream then starts afresh.
        DropoutSource.Reset(state.DropoutSeed != 0 ? state.DropoutSeed : SampleSeeds.For(Config.Training.Seed, StreamDropout), state.DropoutPosition);
        loader.Dispose();
        loader = new BatchLoader(Dataset, Config.Training.BatchSize, Config.Training.Seed, RandomFlip, new BatchLoaderState(state.LoaderEpoch, state.LoaderOffset));
        if (importance is not null && state.LossHistory is not null && state.LossHistoryCounts is not null)
            importance.Restore(state.LossHistory, state.LossHistoryCounts);
        Step = state.Step;
        ImagesSeen = state.ImagesSeen;
        TrainSeconds = state.TrainSeconds;
    }

    private static byte[] StateBytes(Tensor state)
    {
        using (state)
        {
            return state.data<byte>().ToArray();
        }
    }

    private static Tensor FromBytes(byte[] bytes) => tensor(bytes, dtype: ScalarType.Byte);

    /// <inheritdoc />
    public void Dispose()
    {
        loader.Dispose();
        optimizer.Dispose();
        generator.Dispose();
        Model.Dispose();
        EmaModel.Dispose();
        computeModel?.Dispose();
        Diffusion.Dispose();
    }
}
