using Ddpm.Analysis;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Tests.Data;
using Ddpm.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Analysis;

/// <summary>Progressive lossy compression (Fig. 5) on a tiny untrained U-Net: the rate is the bound's running sum, the distortion x̂_0's RMSE.</summary>
public sealed class RateDistortionTests : IDisposable
{
    private const long Seed = 4;

    private readonly GaussianDiffusion diffusion = new(TinyRuns.Config().Diffusion);
    private readonly UNet network = TinyRuns.Network(21);
    private readonly ByteImageDataset data = TinyRuns.Data(count: 5);

    private Tensor Model(Tensor x, Tensor t) => network.call(x, t);

    private static LikelihoodSettings Bound => new() { Count = 3, BatchSize = 2, Seed = Seed };

    private RateDistortionResult Run() =>
        new RateDistortion(diffusion, Model).Evaluate(data, new RateDistortionSettings { Bound = Bound, ReconstructionImages = 2, ReconstructionSteps = 4 });

    [Fact]
    public void The_rate_rises_step_by_step_from_the_prior_to_the_bound_without_its_decoder_term()
    {
        using var result = Run();
        var points = result.Points;
        Assert.Equal(diffusion.Timesteps, points.Count);
        Assert.Equal(Enumerable.Range(1, diffusion.Timesteps), points.Select(p => p.Step));
        Assert.Equal(Enumerable.Range(0, diffusion.Timesteps).Reverse(), points.Select(p => p.Timestep));
        for (var i = 1; i < points.Count; i++) Assert.True(points[i].Rate >= points[i - 1].Rate, $"rate falls at step {points[i].Step}");
        Assert.All(points, p => Assert.True(double.IsFinite(p.Distortion) && p.Distortion >= 0));

        // The bound evaluated on its own, with the same seed.
        var bound = new LikelihoodEstimator(diffusion, Model).Evaluate(data, Bound);
        Assert.Equal(bound.Prior, points[0].Rate, 1e-12);
        Assert.Equal(bound.Mean - bound.Decoder, points[^1].Rate, 1e-9 * bound.Mean);
        Assert.Equal(bound.Mean, result.Bound.Mean, 1e-12);
    }

    [Fact]
    public void The_distortion_at_the_end_is_the_RMSE_of_the_final_prediction_and_it_is_the_last_reconstruction()
    {
        using var result = Run();
        using var scope = NewDisposeScope();
        var x0 = stack(Enumerable.Range(0, 3).Select(i => tensor(TestData.Image(data, i), [1, 8, 8])).ToArray());
        // x_1 ~ q(x_1 | x_0) with the bound's noise at 0-based t = 0, then x̂_0 from the model (clipped, as the bound).
        using var g = new Generator(0UL);
        var noise = stack(Enumerable.Range(0, 3).Select(i =>
        {
            g.manual_seed(LikelihoodEstimator.NoiseSeed(Seed, i, 0));
            return randn([1, 8, 8], generator: g);
        }).ToArray());
        var t = zeros([3], ScalarType.Int64);
        Tensor predicted;
        using (no_grad())
        {
            var xt = diffusion.QSample(x0, t, noise);
            predicted = diffusion.PMeanVariance(Model(xt, t), xt, t, clipDenoised: true).PredictedStart;
        }
        var rmse = Math.Sqrt((predicted - x0).to(ScalarType.Float64).square().mean().item<double>()) * 127.5;
        Assert.Equal(rmse, result.Points[^1].Distortion, 1e-6 * rmse);

        Assert.Equal([0, 33, 66, 99], result.ReconstructionTimesteps.Reverse());
        Assert.Equal([2L, 4, 1, 8, 8], result.Reconstructions.shape);
        Assert.True(result.Reconstructions.select(1, 3).allclose(predicted.narrow(0, 0, 2), rtol: 0, atol: Tolerances.Float32));
        Assert.True(result.Originals.allclose(x0.narrow(0, 0, 2)));
    }

    public void Dispose()
    {
        network.Dispose();
        diffusion.Dispose();
    }
}
