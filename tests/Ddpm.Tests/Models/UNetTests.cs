using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Models;

public class UNetTests
{
    [Fact]
    public void Cifar10_preset_is_the_paper_model()
    {
        using var model = new UNet(UNetConfig.Cifar10);
        Assert.Equal(35_746_307, model.ParameterCount);
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var y = model.call(randn([1, 3, 32, 32], generator: new Generator(0)), tensor(new long[] { 10 }));
        Assert.Equal([1L, 3, 32, 32], y.shape);
    }

    [Fact]
    public void Small_preset_matches_the_reference_benchmark_model()
    {
        using var model = new UNet(UNetConfig.Small);
        Assert.Equal(1_623_169, model.ParameterCount);
        using var scope = NewDisposeScope();
        var y = model.call(randn([2, 1, 28, 28]), tensor(new long[] { 0, 999 }));
        Assert.Equal([2L, 1, 28, 28], y.shape);
        // The output convolution starts at zero, as the official model: the untrained network predicts ε = 0.
        Assert.Equal(0f, y.abs().max().item<float>());
    }

    [Fact]
    public void Learned_variance_doubles_the_output_channels()
    {
        // A network that also predicts the variance (Nichol & Dhariwal 2021) has OutChannels = 2 × InChannels: the
        // output convolution has twice the filters and the output twice the channels of the input.
        var config = UNetConfig.Small with { BaseChannels = 32, ChannelMultipliers = [1, 2], AttentionResolutions = [] };
        using var plain = new UNet(config);
        using var learned = new UNet(config with { OutChannels = 2 * config.InChannels });
        var plainOut = plain.state_dict()["conv_out.weight"].shape;
        var learnedOut = learned.state_dict()["conv_out.weight"].shape;
        Assert.Equal(2 * plainOut[0], learnedOut[0]);
        Assert.Equal(plainOut[1..], learnedOut[1..]);
        using var scope = NewDisposeScope();
        var x = randn([1, config.InChannels, 28, 28]);
        Assert.Equal(config.InChannels, plain.call(x, tensor(new long[] { 3 })).shape[1]);
        Assert.Equal([1L, 2 * config.InChannels, 28, 28], learned.call(x, tensor(new long[] { 3 })).shape);
    }

    [Fact]
    public void State_dict_keys_of_the_cifar10_preset_are_exactly_the_official_ports()
    {
        // The keys of pesser/pytorch_diffusion's Model for CIFAR-10, listed by Fixtures/pesser_keys.py from its own
        // constructor (the command is in that script).
        var fixture = Path.Combine(CliRunner.RepositoryRoot(), "tests", "Ddpm.Tests", "Fixtures", "pesser-cifar10-keys.txt");
        var expected = File.ReadAllLines(fixture).Where(l => l.Length > 0).ToHashSet();
        Assert.Equal(328, expected.Count);
        using var model = new UNet(UNetConfig.Cifar10);
        var actual = model.state_dict().Keys.ToHashSet();
        Assert.Empty(actual.Except(expected));
        Assert.Empty(expected.Except(actual));
    }

    [Fact]
    public void Same_seed_gives_the_same_weights()
    {
        using var a = new UNet(UNetConfig.Small, seed: 3);
        using var b = new UNet(UNetConfig.Small, seed: 3);
        using var c = new UNet(UNetConfig.Small, seed: 4);
        var pa = a.parameters().ToList();
        var pb = b.parameters().ToList();
        var pc = c.parameters().ToList();
        Assert.All(Enumerable.Range(0, pa.Count), i => Assert.True(Same.Bytes(pa[i], pb[i])));
        Assert.Contains(Enumerable.Range(0, pa.Count), i => !Same.Bytes(pa[i], pc[i]));
    }

    [Fact]
    public void Wrong_input_shape_is_a_clear_error()
    {
        using var model = new UNet(UNetConfig.Small);
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => model.call(randn([1, 3, 28, 28]), tensor(new long[] { 1 })));
        Assert.Contains("[B, 1, 28, 28]", e.Message);
    }

    [Fact]
    public void Training_steps_leave_no_live_tensors_behind()
    {
        var config = UNetConfig.Small with { BaseChannels = 32, ChannelMultipliers = [1, 2], NumResBlocks = 1 };
        using var model = new UNet(config);
        using var diffusion = new GaussianDiffusion(new DiffusionConfig { Schedule = new() { Timesteps = 50 } });
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
        using var g = new Generator(0);
        _ = diffusion.Schedule.Tensors; // created once, kept for the schedule's life
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var x0 = rand([2, 1, 28, 28], generator: g) * 2 - 1;
            var t = diffusion.SampleTimesteps(2, g);
            var loss = diffusion.LossSimple(model.call, x0, t, randn_like(x0)).mean();
            loss.backward();
            optimizer.step();
        }
        Step(); // first step creates Adam's moment buffers
        var before = LiveTensors.Count;
        for (var i = 0; i < 3; i++) Step();
        Assert.Equal(before, LiveTensors.Count);
    }

    [Fact]
    public void Invalid_configs_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new UNetConfig { ImageSize = 30, ChannelMultipliers = [1, 2, 2, 2] }.Validate());
        Assert.Throws<ArgumentException>(() => new UNetConfig { BaseChannels = 20 }.Validate());
        Assert.Throws<ArgumentException>(() => UNetConfig.FromPreset("huge"));
    }
}

public class OutputConvTests
{
    [Fact]
    public void Gradients_are_finite_and_match_a_plain_convolution()
    {
        // libtorch 2.10 intermittently returns NaN input gradients for convolutions with < 16 output channels;
        // 8 independent trials catch that with high probability.
        using var g = new Generator(5);
        for (var trial = 0; trial < 8; trial++)
        {
            using var scope = NewDisposeScope();
            using var conv = new OutputConv(32, 1);
            using (no_grad())
            {
                foreach (var p in conv.parameters()) p.copy_(randn(p.shape, generator: g) * 0.1);
            }
            var x = randn([2, 32, 28, 28], generator: g).requires_grad_(true);
            var y = conv.call(x);
            (y - 1).square().sum().backward();
            Assert.True(x.grad!.isfinite().all().item<bool>(), $"trial {trial}: NaN input gradient");
            var w = conv.parameters().First();
            using (no_grad())
            {
                var reference = nn.functional.conv2d(x, w, conv.parameters().Last(), padding: [1, 1]);
                Assert.True(reference.allclose(y, rtol: 0, atol: 1e-5));
            }
        }
    }

    [Fact]
    public void Bf16_inference_is_as_close_to_float32_as_bf16_rounding_allows()
    {
        // libtorch 2.10's CPU bf16 convolution with one output channel is off by about 30 % of the output's norm;
        // padded to 16 filters it is off by the ≈ 0.3 % that rounding inputs and weights to 8 bits gives.
        using var g = new Generator(6);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var conv = new OutputConv(64, 1);
        using (no_grad())
        {
            foreach (var p in conv.parameters()) p.copy_(randn(p.shape, generator: g) * 0.05);
        }
        var x = randn([4, 64, 16, 16], generator: g);
        var reference = conv.call(x);
        conv.to(ScalarType.BFloat16);
        var low = conv.call(x.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        var relative = ((low - reference).norm() / reference.norm()).item<float>();
        Assert.True(relative < 0.01, $"bf16 output differs by {relative:P1}");
    }
}
