using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Models;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Conditioning;

/// <summary>Class-conditional U-Nets, classifier-free guidance and label dropout.</summary>
public class ClassConditioningTests
{
    private static readonly UNetConfig ClassModel = TinyRuns.Model with { NumClasses = 4 };

    private static UNet Network(UNetConfig config, long seed = 1)
    {
        var network = new UNet(config, seed);
        network.eval();
        return network;
    }

    /// <summary>A network whose weights are moved off their initialisation (which zeroes every block's last convolution), so its output depends on its inputs.</summary>
    private static UNet Untrained(UNetConfig config, long seed = 1)
    {
        var network = Network(config, seed);
        using var noGrad = no_grad();
        using var g = new Generator((ulong)seed);
        foreach (var p in network.parameters())
        {
            using var draw = randn(p.shape, generator: g);
            p.add_(draw * 0.05);
        }
        return network;
    }

    [Fact]
    public void The_class_embedding_leaves_the_unconditional_initialisation_unchanged()
    {
        using var plain = Network(TinyRuns.Model);
        using var conditional = Network(ClassModel);
        var weights = conditional.state_dict();
        foreach (var (name, value) in plain.state_dict()) Assert.True(Same.Bytes(value, weights[name]), name);
        Assert.Equal([5, TinyRuns.Model.BaseChannels * 4], weights[UNet.LabelEmbeddingKey + ".weight"].shape);
    }

    [Fact]
    public void The_null_class_is_minus_one_or_no_labels_and_classes_change_the_output()
    {
        using var scope = NewDisposeScope();
        using var network = Untrained(ClassModel);
        using var g = new Generator(3);
        var x = randn([4, 1, 8, 8], generator: g);
        var t = tensor(new long[] { 5, 50, 90, 10 });
        using var noGrad = no_grad();
        var none = network.ForwardConditioned(x, t);
        var nullClass = network.ForwardConditioned(x, t, tensor(new long[] { -1, -1, -1, -1 }));
        Assert.True(Same.Bytes(none, nullClass));
        var classes = network.ForwardConditioned(x, t, tensor(new long[] { 0, 1, 2, 3 }));
        Assert.False(classes.allclose(none, rtol: 0, atol: 1e-6));
        // The plain forward pass of a class-conditional model is its unconditional model.
        Assert.True(Same.Bytes(network.call(x, t), none));
    }

    [Fact]
    public void Bad_labels_are_refused_in_one_line()
    {
        using var scope = NewDisposeScope();
        using var network = Network(ClassModel);
        using var plain = Network(TinyRuns.Model);
        var x = zeros(2, 1, 8, 8);
        var t = tensor(new long[] { 1, 2 });
        using var noGrad = no_grad();
        var tooLarge = Assert.Throws<ArgumentException>(() => network.ForwardConditioned(x, t, tensor(new long[] { 0, 4 })));
        Assert.Contains("0..3", tooLarge.Message);
        Assert.DoesNotContain('\n', tooLarge.Message);
        Assert.Throws<ArgumentException>(() => network.ForwardConditioned(x, t, tensor(new long[] { 0 })));
        Assert.Contains("not class-conditional", Assert.Throws<ArgumentException>(() => plain.ForwardConditioned(x, t, tensor(new long[] { 0, 1 }))).Message);
    }

    /// <summary>A model whose output is a known function of the label, so guidance can be checked against its formula.</summary>
    private static Tensor Toy(Tensor x, Tensor t, ModelConditioning c)
    {
        var labels = c.Labels!.to(ScalarType.Float32).view(-1, 1, 1, 1);
        var mean = x * 0.5 + labels;
        var variance = x * 0 + labels * 10;
        return cat([mean, variance], 1);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(3.0)]
    public void Guidance_combines_the_conditional_and_unconditional_outputs(double scale)
    {
        using var scope = NewDisposeScope();
        var x = arange(2 * 1 * 2 * 2, dtype: ScalarType.Float32).view(2, 1, 2, 2);
        var t = tensor(new long[] { 3, 3 });
        var labels = tensor(new long[] { 2, 5 });
        var guided = ClassifierFreeGuidance.Apply(Toy, x, t, new ModelConditioning(labels), scale);
        var conditional = Toy(x, t, new ModelConditioning(labels));
        var unconditional = Toy(x, t, new ModelConditioning(full_like(labels, -1)));
        // ε̃ = ε_∅ + s(ε_c − ε_∅) on the mean's channel; the variance's channel is the conditional model's (or, at s = 0, the unconditional one's).
        var expectedMean = unconditional.narrow(1, 0, 1) + (conditional.narrow(1, 0, 1) - unconditional.narrow(1, 0, 1)) * scale;
        Assert.True(guided.narrow(1, 0, 1).allclose(expectedMean, rtol: 0, atol: 1e-5));
        var expectedVariance = scale == 0 ? unconditional.narrow(1, 1, 1) : conditional.narrow(1, 1, 1);
        Assert.True(guided.narrow(1, 1, 1).allclose(expectedVariance, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Sampling_with_guidance_0_equals_sampling_the_null_class_and_leaves_no_tensors()
    {
        using var network = Untrained(ClassModel);
        using var diffusion = new Ddpm.Diffusion.GaussianDiffusion(TinyRuns.Config().Diffusion);
        using var sampler = (DpmSolverMultistepSampler)SamplerSettings.SdeDpmSolverPlusPlus(steps: 6).Create(diffusion);
        ConditionalModel model = (x, t, c) => network.ForwardConditioned(x, t, c.Labels, c.Image);
        var pipeline = new SamplingPipeline(model, sampler, diffusion);
        pipeline.Generate(new SampleRequest(1, 1, 8, 8) { Labels = [1], GuidanceScale = 2 }).Dispose(); // schedule tensors are made on first use
        var before = LiveTensors.Count;
        using (var guided = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2) { Labels = [0, 1, 3], GuidanceScale = 0 }))
        using (var unconditional = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2)))
        using (var nullClass = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2) { Labels = [-1, -1, -1], GuidanceScale = 1 }))
        {
            Assert.True(Same.Bytes(guided, unconditional));
            Assert.True(Same.Bytes(guided, nullClass));
        }
        using (var conditional = pipeline.Generate(new SampleRequest(3, 1, 8, 8, Seed: 2, BatchSize: 2) { Labels = [0, 1, 3], GuidanceScale = 4 }))
            Assert.Equal([3, 1, 8, 8], conditional.shape);
        Assert.Equal(before, LiveTensors.Count);
    }

    [Fact]
    public void Label_dropout_drops_at_its_rate()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(9);
        var labels = arange(20000, dtype: ScalarType.Int64) % 10;
        var dropped = LabelDropout.Apply(labels, 0.1, g);
        var rate = dropped.eq(-1).to(ScalarType.Float64).mean().item<double>();
        // Binomial(20000, 0.1): standard deviation 0.0021; 4 of them.
        Assert.InRange(rate, 0.1 - 0.0085, 0.1 + 0.0085);
        Assert.True(Same.Bytes(where(dropped.ne(-1), dropped, labels), labels), "kept labels are unchanged");
        Assert.Equal(0, LabelDropout.Apply(labels, 0, g).eq(-1).sum().item<long>());
        Assert.Throws<ArgumentException>(() => LabelDropout.Apply(labels, 1, g));
    }

    private static RunConfig ClassConfig(double dropout, long steps = 4) => TinyRuns.Config(steps) with
    {
        Model = ClassModel,
        Conditioning = new ConditioningConfig { ClassNames = ["a", "b", "c", "d"], LabelDropout = dropout },
    };

    [Fact]
    public void Training_uses_the_null_class_only_through_label_dropout()
    {
        // Adam leaves an embedding row that never receives a gradient exactly where it started: with dropout 0 the null
        // class's row stays put and every class's row moves; with dropout the null row is trained too.
        Tensor NullRow(UNet network) => network.state_dict()[UNet.LabelEmbeddingKey + ".weight"][4].clone();
        Tensor ClassRows(UNet network) => network.state_dict()[UNet.LabelEmbeddingKey + ".weight"].narrow(0, 0, 4).clone();
        var data = TinyRuns.Patterns();
        using (var trainer = new Trainer(ClassConfig(0), data))
        {
            using var nullBefore = NullRow(trainer.Model);
            using var classesBefore = ClassRows(trainer.Model);
            for (var i = 0; i < 4; i++) trainer.TrainStep();
            using var nullAfter = NullRow(trainer.Model);
            using var classesAfter = ClassRows(trainer.Model);
            Assert.True(Same.Bytes(nullAfter, nullBefore));
            using var moved = (classesAfter - classesBefore).abs().amax([1]);
            Assert.True(moved.gt(0).all().item<bool>());
        }
        using (var trainer = new Trainer(ClassConfig(0.5), data))
        {
            using var nullBefore = NullRow(trainer.Model);
            for (var i = 0; i < 4; i++) trainer.TrainStep();
            using var nullAfter = NullRow(trainer.Model);
            Assert.False(Same.Bytes(nullAfter, nullBefore));
        }
    }

    [Fact]
    public void A_class_conditional_model_needs_labelled_data_with_its_classes()
    {
        var unlabelled = new Ddpm.Data.ByteImageDataset("plain", 1, 8, 8, Enumerable.Range(0, 10).Select(_ => new byte[64]).ToList());
        Assert.Contains("no labels", Assert.Throws<ArgumentException>(() => new Trainer(ClassConfig(0.1), unlabelled)).Message);
        Assert.Contains("10 classes", Assert.Throws<ArgumentException>(() => new Trainer(ClassConfig(0.1), TinyRuns.Data())).Message);
        Assert.Throws<ArgumentException>(() => (ClassConfig(0.1) with { Conditioning = new ConditioningConfig { ClassNames = ["a"] } }).Validate());
    }
}
