using Ddpm.Diffusion;
using Ddpm.Sampling;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Training;

/// <summary>
/// An explicit device reaches every tensor the diffusion loss, a sampler step and the sampling pipeline create. CUDA is
/// not available here, so the device is <c>meta</c>: tensors without storage, on which libtorch computes shapes only. A
/// tensor created on the CPU instead either makes an op fail (libtorch refuses to mix meta and CPU operands) or stays
/// in the step's dispose scope, whose tensors are checked one by one. libtorch's C++ API has no meta kernel for
/// convolutions, so the network is a stand-in made of element-wise ops that depends on x_t and t.
/// </summary>
public sealed class ExplicitDeviceTests
{
    private static readonly Device Meta = torch.device("meta");

    private static Tensor StandIn(Tensor x, Tensor t) => x * 0.5 + t.to(x.dtype).view(-1, 1, 1, 1) * 1e-3;

    private static void AssertAllOnMeta(DisposeScope scope)
    {
        var tensors = scope.DisposablesView.OfType<Tensor>().Where(t => !t.IsInvalid).ToList();
        Assert.NotEmpty(tensors);
        Assert.All(tensors, t => Assert.Equal(DeviceType.META, t.device_type));
    }

    [Fact]
    public void The_training_loss_creates_every_tensor_on_the_data_s_device()
    {
        var diffusion = new GaussianDiffusion(TinyRuns.Config().Diffusion);
        using var scope = NewDisposeScope();
        var x0 = randn([3, 1, 8, 8], device: Meta);
        var t = randint(0, 100, [3], dtype: ScalarType.Int64, device: Meta);
        var noise = randn([3, 1, 8, 8], device: Meta);
        var loss = diffusion.LossSimple(StandIn, x0, t, noise).mean();
        Assert.Equal(DeviceType.META, loss.device_type);
        AssertAllOnMeta(scope);
    }

    public static TheoryData<string> Samplers => ["ddpm", "ddim-eta", "dpm++", "unipc"];

    private static SamplerSettings Settings(string name) => name switch
    {
        "ddpm" => SamplerSettings.Ddpm(4),
        "ddim-eta" => SamplerSettings.Ddim(4, eta: 1),
        "dpm++" => SamplerSettings.DpmSolverPlusPlus(4),
        _ => SamplerSettings.UniPc(4),
    };

    [Theory]
    [MemberData(nameof(Samplers))]
    public void Every_sampler_step_creates_its_tensors_on_the_sample_s_device(string name)
    {
        var diffusion = new GaussianDiffusion(TinyRuns.Config().Diffusion);
        var sampler = Settings(name).Create(diffusion);
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var x = randn([2, 1, 8, 8], device: Meta);
        foreach (var timestep in sampler.Timesteps)
        {
            var t = full([2], timestep, dtype: ScalarType.Int64, device: Meta);
            var output = StandIn(x, t);
            var noise = sampler.AddsNoise(timestep) ? randn([2, 1, 8, 8], device: Meta) : null;
            var result = sampler.Step(output, timestep, x, noise: noise);
            Assert.Equal(DeviceType.META, result.PredictedStart.device_type);
            x = result.Previous;
        }
        Assert.Equal(DeviceType.META, x.device_type);
        AssertAllOnMeta(scope);
    }

    [Theory]
    [MemberData(nameof(Samplers))]
    public void The_sampling_pipeline_generates_on_its_device(string name)
    {
        var diffusion = new GaussianDiffusion(TinyRuns.Config().Diffusion);
        var pipeline = new SamplingPipeline(StandIn, Settings(name).Create(diffusion), Meta);
        using var samples = pipeline.Generate(new SampleRequest(2, 1, 8, 8, Seed: 3));
        Assert.Equal(DeviceType.META, samples.device_type);
        Assert.Equal(new long[] { 2, 1, 8, 8 }, samples.shape);
    }
}
