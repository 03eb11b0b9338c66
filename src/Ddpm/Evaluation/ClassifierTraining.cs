using Ddpm.Checkpoints;
using Ddpm.Data;
using Ddpm.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Settings of <see cref="ClassifierTraining.Train"/>; the defaults train the committed Fashion-MNIST classifier.</summary>
public sealed record ClassifierTrainingOptions
{
    /// <summary>Where the network trains (the CPU when null). Random draws stay on the CPU generator, so the run is the same on any device up to the kernels' rounding.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Device? Device { get; init; }

    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Images per step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Peak AdamW learning rate, reached after <see cref="WarmupSteps"/> and decayed to 0 by a half cosine.</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>AdamW's decoupled weight decay (Loshchilov &amp; Hutter 2019).</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>Mirror each training image left–right with probability ½ (off: in two epochs the network does not overfit).</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>Seed of the initialisation, the shuffling, the flips and the dropout masks.</summary>
    public long Seed { get; init; }

    /// <summary>Stop after this many steps (a short run, e.g. in tests); null: all epochs.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Throws when a setting is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 2, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(LearningRate, nameof(LearningRate));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps, nameof(WarmupSteps));
        ArgumentOutOfRangeException.ThrowIfNegative(WeightDecay, nameof(WeightDecay));
        if (MaxSteps is < 1) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be positive.");
    }
}

/// <summary>Where a classifier training run is: step (1-based) of the total, epoch (1-based) and the step's loss.</summary>
public sealed record ClassifierProgress(int Step, int TotalSteps, int Epoch, double Loss);

/// <summary>A trained classifier and its accuracy on the test split (NaN when there was none).</summary>
public sealed record ClassifierTrainingResult(ClassifierNetwork Network, int Steps, double FinalLoss, double TestAccuracy);

/// <summary>Trains, evaluates and saves the classifier behind the default 28×28 feature extractor.</summary>
public static class ClassifierTraining
{
    /// <summary>The weight file of a saved classifier.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The JSON description of a saved classifier.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>
    /// Trains a <see cref="ClassifierNetwork"/> of <paramref name="config"/> on labelled <paramref name="train"/> with
    /// cross-entropy and AdamW, deterministically under <see cref="ClassifierTrainingOptions.Seed"/>; measures its accuracy
    /// on <paramref name="test"/> when given.
    /// </summary>
    public static ClassifierTrainingResult Train(ClassifierConfig config, IDataset train, IDataset? test, ClassifierTrainingOptions options,
        IProgress<ClassifierProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        config.Validate();
        if (train.NumClasses != config.Classes)
            throw new ArgumentException($"{train.Name} has {train.NumClasses} classes; the classifier has {config.Classes}.", nameof(train));
        if (train.Channels != config.InChannels || train.Height != config.ImageSize || train.Width != config.ImageSize)
            throw new ArgumentException($"{train.Name} has {train.Channels}×{train.Height}×{train.Width} images; the classifier takes {config.InChannels}×{config.ImageSize}×{config.ImageSize}.", nameof(train));

        using var generator = new Generator(unchecked((ulong)options.Seed));
        var network = new ClassifierNetwork(config, generator) { Dropout = new DropoutStream(options.Seed) };
        try
        {
            if (options.Device is { type: not DeviceType.CPU } device) network.to(device);
            var (images, labels) = Load(train, options.Device);
            using (images)
            using (labels)
            {
                var (steps, loss) = Fit(network, images, labels, options, generator, progress, cancellation);
                var accuracy = test is null ? double.NaN : Accuracy(network, test);
                return new ClassifierTrainingResult(network, steps, loss, accuracy);
            }
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private static (int Steps, double Loss) Fit(ClassifierNetwork network, Tensor images, Tensor labels, ClassifierTrainingOptions options,
        Generator generator, IProgress<ClassifierProgress>? progress, CancellationToken cancellation)
    {
        var n = images.shape[0];
        var stepsPerEpoch = (int)(n / options.BatchSize); // the last partial batch is dropped (BatchNorm needs full batches)
        if (stepsPerEpoch < 1) throw new ArgumentException($"{n} training images are fewer than one batch of {options.BatchSize}.");
        var total = Math.Min(stepsPerEpoch * options.Epochs, options.MaxSteps ?? int.MaxValue);
        // AdamW as Adam without weight decay plus the decoupled decay p ← p·(1 − lr·λ) before each update, the order of
        // PyTorch's and TorchSharp's AdamW; every number reaches libtorch as a Scalar this code disposes (InPlaceAdam), not as
        // one TorchSharp leaves to the finalizer, which can free it while libtorch still reads it.
        using var optimizer = optim.Adam(network.parameters(), options.LearningRate);
        var parameters = network.parameters().ToList();
        using Scalar half = 0.5;
        network.train();
        var step = 0;
        var loss = double.NaN;
        for (var epoch = 1; step < total; epoch++)
        {
            using var order = randperm(n, generator: generator);
            for (var b = 0; b < stepsPerEpoch && step < total; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var index = order.narrow(0, (long)b * options.BatchSize, options.BatchSize).to(images.device);
                var x = images.index_select(0, index);
                if (options.HorizontalFlip)
                {
                    var flip = rand(options.BatchSize, generator: generator).lt(half).view(-1, 1, 1, 1).to(x.device);
                    x = where(flip, x.flip(3), x);
                }
                var y = labels.index_select(0, index);
                var rate = LearningRate(options, step, total);
                foreach (var group in optimizer.ParamGroups) group.LearningRate = rate;
                optimizer.zero_grad();
                var output = network.call(x);
                var objective = nn.functional.cross_entropy(output, y);
                objective.backward();
                if (options.WeightDecay != 0)
                {
                    using var noGrad = no_grad();
                    using Scalar decay = 1 - rate * options.WeightDecay;
                    foreach (var parameter in parameters) parameter.mul_(decay);
                }
                Training.InPlaceAdam.Step(optimizer);
                step++;
                loss = objective.item<float>();
                progress?.Report(new ClassifierProgress(step, total, epoch, loss));
            }
        }
        network.eval();
        return (step, loss);
    }

    /// <summary>Linear warm-up to the peak, then a half cosine to 0 at the last step.</summary>
    internal static double LearningRate(ClassifierTrainingOptions options, int step, int total)
    {
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / options.WarmupSteps;
        var decay = Math.Max(1, total - options.WarmupSteps);
        return options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, (step - options.WarmupSteps) / (double)decay)));
    }

    /// <summary>Share of <paramref name="data"/>'s images whose most probable class is their label (evaluation mode).</summary>
    public static double Accuracy(ClassifierNetwork network, IDataset data, int batchSize = 500)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        var (images, labels) = Load(data, network.parameters().First().device);
        using (images)
        using (labels)
        using (no_grad())
        {
            var wasTraining = network.training;
            network.eval();
            long correct = 0;
            for (long start = 0; start < data.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var length = Math.Min(batchSize, data.Count - start);
                var predicted = network.call(images.narrow(0, start, length)).argmax(1);
                correct += predicted.eq(labels.narrow(0, start, length)).sum().item<long>();
            }
            if (wasTraining) network.train();
            return (double)correct / data.Count;
        }
    }

    /// <summary>Writes <c>model.safetensors</c> and the JSON description <c>config.json</c> into <paramref name="directory"/>.</summary>
    public static void Save(ClassifierNetwork network, string directory)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory.CreateDirectory(directory);
        network.save_safetensors(Path.Combine(directory, WeightsFile));
        ConfigJson.Save(network.Config with { Weights = WeightsFile }, Path.Combine(directory, ConfigFile));
    }

    /// <summary>All images of a data set as float32 [N, C, H, W] in [−1, 1] and labels int64 [N].</summary>
    internal static (Tensor Images, Tensor Labels) Load(IDataset data, Device? device = null)
    {
        var images = DatasetImages.Read(data, 0, data.Count);
        var classes = tensor(Enumerable.Range(0, data.Count).Select(i => (long)data.GetLabel(i)).ToArray());
        if (device is null || device.type == DeviceType.CPU) return (images, classes);
        using (images)
        using (classes)
        {
            return (images.to(device), classes.to(device));
        }
    }
}
