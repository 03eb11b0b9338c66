using Ddpm.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>Penultimate-layer features and class logits of one batch.</summary>
public sealed record ClassifierOutput(Tensor Features, Tensor Logits) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Features.Dispose();
        Logits.Dispose();
    }
}

/// <summary>
/// A small convolutional classifier for feature extraction: stages of 3×3 convolution → norm → ReLU (a 2×2 max-pool
/// between stages), global average pooling, a linear feature layer with norm and ReLU (the features), dropout, and a
/// linear head (the logits). State-dict keys: <c>stages.{i}.{j}.conv.weight</c>, <c>stages.{i}.{j}.norm.*</c>,
/// <c>feature.weight</c>, <c>feature_norm.*</c>, <c>head.weight</c>.
/// </summary>
public sealed class ClassifierNetwork : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<ModuleList<ConvNormRelu>> stages;
    private readonly Linear feature;
    private readonly nn.Module<Tensor, Tensor> featureNorm;
    private readonly Linear head;
    private readonly double dropout;

    /// <summary>A network of <paramref name="config"/>, initialised from <paramref name="generator"/> (Glorot uniform, zero biases) or PyTorch's defaults when null.</summary>
    public ClassifierNetwork(ClassifierConfig config, Generator? generator = null) : base("ClassifierNetwork")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        dropout = config.Dropout;
        stages = new ModuleList<ModuleList<ConvNormRelu>>();
        var channels = config.InChannels;
        foreach (var width in config.Widths)
        {
            var stage = new ModuleList<ConvNormRelu>();
            for (var j = 0; j < config.ConvsPerStage; j++)
            {
                stage.Add(new ConvNormRelu(channels, width, config.Norm, generator));
                channels = width;
            }
            stages.Add(stage);
        }
        feature = nn.Linear(channels, config.FeatureDimension, hasBias: false);
        featureNorm = config.Norm == ClassifierNorm.Batch
            ? BatchNorm(nn.BatchNorm1d(config.FeatureDimension))
            : GroupNorm(config.FeatureDimension);
        head = nn.Linear(config.FeatureDimension, config.Classes);
        if (generator is not null)
        {
            Init.Default(feature, generator);
            Init.Default(head, generator);
        }
        register_module("stages", stages);
        register_module("feature", feature);
        register_module("feature_norm", featureNorm);
        register_module("head", head);
    }

    /// <summary>The architecture.</summary>
    public ClassifierConfig Config { get; }

    /// <summary>The dropout masks' stream in training; null: no dropout.</summary>
    public DropoutStream? Dropout { get; set; }

    /// <summary>Class logits [N, K] of images [N, C, S, S].</summary>
    public override Tensor forward(Tensor x)
    {
        using var output = FeaturesAndLogits(x);
        return output.Logits.alias();
    }

    /// <summary>Features [N, D] (after the feature layer's ReLU) and logits [N, K].</summary>
    public ClassifierOutput FeaturesAndLogits(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        for (var i = 0; i < stages.Count; i++)
        {
            if (i > 0) h = nn.functional.max_pool2d(h, 2);
            foreach (var layer in stages[i]) h = layer.call(h);
        }
        h = h.mean([2, 3]);
        var projected = feature.call(h);
        // Group norm wants [N, C, …]: a trailing axis of 1 for the feature vector.
        var normed = Config.Norm == ClassifierNorm.Group ? featureNorm.call(projected.unsqueeze(2)).squeeze(2) : featureNorm.call(projected);
        var features = nn.functional.relu(normed);
        var dropped = features;
        if (training && dropout > 0 && Dropout is { } stream)
        {
            using var mask = stream.KeepMask(features.shape, dropout).to(features.device);
            dropped = features * mask;
        }
        var logits = head.call(dropped);
        return new ClassifierOutput(features.MoveToOuterDisposeScope(), logits.MoveToOuterDisposeScope());
    }

    /// <summary>Group normalisation with its affine parameters set to 1 and 0 explicitly (TorchSharp leaves them unset).</summary>
    private static GroupNorm GroupNorm(int channels)
    {
        var norm = nn.GroupNorm(ClassifierConfig.GroupNormGroups(channels), channels);
        using var noGrad = no_grad();
        norm.weight!.fill_(1);
        norm.bias!.zero_();
        return norm;
    }

    /// <summary>
    /// Batch normalisation with its affine parameters and running statistics set explicitly (1, 0, 0, 1), as PyTorch
    /// initialises them: otherwise a training run read leftover memory and two runs with one seed differed.
    /// </summary>
    private static T BatchNorm<T>(T norm) where T : nn.Module<Tensor, Tensor>
    {
        using var noGrad = no_grad();
        foreach (var (name, tensor) in norm.state_dict())
        {
            if (name is "weight" or "running_var") tensor.fill_(1);
            else if (name is "bias" or "running_mean" or "num_batches_tracked") tensor.zero_();
        }
        return norm;
    }

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    private sealed class ConvNormRelu : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly nn.Module<Tensor, Tensor> norm;

        public ConvNormRelu(int input, int output, ClassifierNorm kind, Generator? generator) : base("ConvNormRelu")
        {
            conv = nn.Conv2d(input, output, 3, padding: 1, bias: false);
            norm = kind == ClassifierNorm.Batch ? BatchNorm(nn.BatchNorm2d(output)) : GroupNorm(output);
            if (generator is not null) Init.Default(conv, generator);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var convolved = Layout.SafeConv(x, conv.call, conv.weight!.shape[0]);
            using var h = norm.call(convolved);
            return nn.functional.relu(h);
        }
    }
}
