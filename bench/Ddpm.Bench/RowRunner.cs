using Ddpm.Checkpoints;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Runtime;
using Ddpm.Sampling;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.Bench;

/// <summary>Runs one row inside the current process (the child the harness started for it) and measures it.</summary>
internal static class RowRunner
{
    public static RowResult Run(RowSpec row, bool quick)
    {
        var baseline = BaselineRss();
        var (seconds, parameters, extra) = row.Kind switch
        {
            RowKind.Train => Train(row),
            RowKind.Forward => Forward(row),
            RowKind.Run => SamplingRun(row),
            _ => throw new InvalidOperationException($"Unknown row kind {row.Kind}."),
        };
        return new RowResult
        {
            Row = row.Name,
            Kind = row.Kind.ToString().ToLowerInvariant(),
            Preset = row.Preset,
            ImageSize = row.Model.ImageSize,
            Channels = row.Model.InChannels,
            Batch = row.Batch,
            Images = row.Kind == RowKind.Run ? row.Images : row.Batch,
            Precision = row.PrecisionName,
            Quick = quick,
            Warmup = row.Kind == RowKind.Train ? Math.Max(1, row.Warmup) : row.Warmup,
            Iterations = row.Iterations,
            Threads = get_num_threads(),
            Parameters = parameters,
            Includes = row.Includes,
            MedianSeconds = Timing.Median(seconds),
            Seconds = seconds.Select(s => Math.Round(s, 4)).ToList(),
            ModelCalls = extra.ModelCalls,
            StepMedianSeconds = extra.StepSeconds is { Count: > 0 } steps ? Math.Round(Timing.Median(steps), 4) : null,
            StepMinSeconds = extra.StepSeconds is { Count: > 0 } min ? Math.Round(min.Min(), 4) : null,
            StepMaxSeconds = extra.StepSeconds is { Count: > 0 } max ? Math.Round(max.Max(), 4) : null,
            StepsTimed = extra.StepSeconds?.Count,
            PeakRssMiB = Math.Round(ProcessMemory.PeakRssMiB(), 1),
            BaselineRssMiB = Math.Round(baseline, 1),
            PrecisionHonoured = extra.PrecisionHonoured,
            LastLoss = extra.LastLoss,
            TorchSharpVersion = typeof(torch).Assembly.GetName().Version?.ToString() ?? "?",
            LibTorchVersion = __version__,
            Notes = extra.Notes,
            CpuTunings = AppliedTunings(),
        };
    }

    private sealed record Extra(int ModelCalls = 1, bool? PrecisionHonoured = null, double? LastLoss = null, IReadOnlyList<double>? StepSeconds = null)
    {
        public List<string> Notes { get; } = [];
    }

    /// <summary>The names of the CPU tunings in effect, as --without spells them.</summary>
    private static List<string> AppliedTunings()
    {
        var applied = new List<string>();
        if (CpuTuning.AllocatorTuned) applied.Add("allocator");
        if (CpuTuning.LargeBlocksInHeap) applied.Add("large-blocks");
        if (CpuTuning.DenormalsFlushed) applied.Add("denormals");
        if (CpuTuning.Options?.DisableNnpack == true) applied.Add("nnpack");
        if (CpuTuning.MklAvx512) applied.Add("mkl-avx512");
        if (CpuTuning.ConstantsKeptAccessed) applied.Add("constants");
        if (CpuTuning.Options?.CollectAfterEachStep == true) applied.Add("collect");
        return applied;
    }

    /// <summary>Resident set with the runtime and libtorch loaded and one small op run, before anything of the row.</summary>
    private static double BaselineRss()
    {
        using (var scope = NewDisposeScope()) _ = ones(8, 8).matmul(ones(8, 8)).sum().item<float>();
        return ProcessMemory.RssMiB();
    }

    private static (List<double>, long, Extra) Train(RowSpec row)
    {
        var model = row.Model;
        // Enough images for a few batches; the loader reshuffles at each epoch, as in a real run.
        var dataset = SyntheticData.Create(model.InChannels, model.ImageSize, Math.Max(8 * row.Batch, 64));
        var preset = row.Preset == "cifar10" ? "cifar10" : "small";
        var config = new RunConfig
        {
            Preset = preset,
            Model = model,
            Training = TrainingConfig.ForPreset(preset) with
            {
                BatchSize = row.Batch,
                Precision = row.Precision,
                Seed = 0,
                // Flips as the preset's data set has them by default: on for CIFAR-10, off for Fashion-MNIST.
                RandomFlip = preset == "cifar10",
            },
            Data = new DataConfig { Dataset = dataset.Name, Images = dataset.Count },
        };
        using var trainer = new Trainer(config, dataset);

        // Whether Precision.Bf16 was honoured: a bf16 trainer runs its forward pass in bfloat16 (on a compute copy or on
        // Model itself), so Model must not see float32 inputs. Counted with a pre-hook during the warm-up steps (so at
        // least one is run), and removed before the timed ones.
        var float32Calls = 0;
        var hook = trainer.Model.register_forward_pre_hook((_, x, t) =>
        {
            if (x.dtype == ScalarType.Float32) float32Calls++;
            return null;
        });
        var warmup = Math.Max(1, row.Warmup);
        StepMetrics? last = null;
        var seconds = Timing.Measure(row.Name, () => last = trainer.TrainStep(), warmup, row.Iterations, afterWarmup: hook.remove);
        var honoured = row.Precision == Precision.Bf16 ? float32Calls == 0 : (bool?)null;
        var extra = new Extra(PrecisionHonoured: honoured, LastLoss: last?.Loss);
        if (warmup != row.Warmup) extra.Notes.Add("one warm-up step was run anyway: it checks which network the trainer calls");
        if (honoured == false)
            extra.Notes.Add("Trainer ignored Precision.Bf16 (its Model ran the forward pass on float32 inputs): this row measured fp32 training");
        return (seconds, trainer.Model.ParameterCount, extra);
    }

    private static (List<double>, long, Extra) Forward(RowSpec row)
    {
        var model = row.Model;
        using var network = Network(row);
        using var diffusion = new GaussianDiffusion(new DiffusionConfig());
        using var sampler = new DdpmSampler(diffusion);
        using var generator = new Generator(0);
        using var x = randn([row.Batch, model.InChannels, model.ImageSize, model.ImageSize], generator: generator);
        using var t = GaussianDiffusion.TimestepTensor(RowCatalog.ForwardTimestep, row.Batch);
        var predict = Predictor(network, row.Precision);
        // One step of the sampling pipeline: its tensors are freed and its end-of-step collection runs inside the
        // timed region, as PyTorch frees each tensor inside its step.
        void Step()
        {
            using (var scope = NewDisposeScope())
            using (var inference = inference_mode())
            {
                var output = predict(x, t);
                _ = sampler.Step(output, RowCatalog.ForwardTimestep, x, generator: generator);
            }
            CpuTuning.EndStep();
        }
        var seconds = Timing.Measure(row.Name, Step, row.Warmup, row.Iterations);
        return (seconds, network.ParameterCount, new Extra());
    }

    private static (List<double>, long, Extra) SamplingRun(RowSpec row)
    {
        var model = row.Model;
        using var network = Network(row);
        using var diffusion = new GaussianDiffusion(new DiffusionConfig());
        var settings = row.Sampler ?? throw new InvalidOperationException($"{row.Name} has no sampler.");
        var sampler = settings.Create(diffusion);
        try
        {
            var predict = Predictor(network, row.Precision);
            var pipeline = new SamplingPipeline(predict, sampler);
            var request = new SampleRequest(row.Images, model.InChannels, model.ImageSize, model.ImageSize, Seed: 0, BatchSize: row.Batch);
            var batches = (row.Images + row.Batch - 1) / row.Batch;
            var calls = sampler.Timesteps.Count * batches;

            // Warm-up: single model calls at the run's batch size, so the timed runs do not pay for first-call set-up.
            using (var generator = new Generator(0))
            using (var x = randn([Math.Min(row.Images, row.Batch), model.InChannels, model.ImageSize, model.ImageSize], generator: generator))
            using (var t = GaussianDiffusion.TimestepTensor(sampler.Timesteps[0], x.shape[0]))
            {
                _ = Timing.Measure(row.Name + " (warm-up model calls)", () =>
                {
                    using var inference = inference_mode();
                    _ = predict(x, t);
                }, row.Warmup, 0);
            }
            var progress = new StderrProgress(row.Name);
            var seconds = Timing.Measure(row.Name, () =>
            {
                progress.StartRun();
                pipeline.Generate(request, progress);
            }, 0, row.Iterations);
            var extra = new Extra(ModelCalls: calls, StepSeconds: progress.StepSeconds);
            extra.Notes.Add($"{sampler.Timesteps.Count} sampler steps × {batches} batch(es) of ≤ {row.Batch}; warm-up = {row.Warmup} single model calls; untrained weights; "
                + $"median step {Timing.Median(progress.StepSeconds):F4} s over {progress.StepSeconds.Count} timed steps");
            return (seconds, network.ParameterCount, extra);
        }
        finally
        {
            (sampler as IDisposable)?.Dispose();
        }
    }

    /// <summary>An untrained network of the row's architecture in eval mode, cast to bfloat16 for bf16 rows.</summary>
    private static UNet Network(RowSpec row)
    {
        var network = new UNet(row.Model, seed: 0);
        network.eval();
        if (row.Precision == Precision.Bf16) network.to(ScalarType.BFloat16);
        return network;
    }

    /// <summary>
    /// The model call a sampler sees. For bf16, as a bf16 <see cref="DiffusionModel"/> predicts: the input is cast to
    /// bfloat16 and the output back to float32, so the sampler's arithmetic stays float32.
    /// </summary>
    private static Func<Tensor, Tensor, Tensor> Predictor(UNet network, Precision precision)
    {
        if (precision == Precision.Fp32) return network.call;
        return (x, t) =>
        {
            using var scope = NewDisposeScope();
            var input = x.to(ScalarType.BFloat16);
            return network.call(input, t).to(ScalarType.Float32).MoveToOuterDisposeScope();
        };
    }

    /// <summary>Reports a long run's progress on stderr every tenth of the way (synchronously, unlike Progress&lt;T&gt;).</summary>
    private sealed class StderrProgress(string row) : IProgress<SamplingProgress>
    {
        private int lastTenth = -1;
        private readonly System.Diagnostics.Stopwatch clock = new();

        /// <summary>The time of every sampler step (model call and update) of the timed runs.</summary>
        public List<double> StepSeconds { get; } = [];

        public void StartRun()
        {
            lastTenth = -1;
            clock.Restart();
        }

        public void Report(SamplingProgress value)
        {
            StepSeconds.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            var tenth = (int)(value.Fraction * 10);
            if (tenth == lastTenth) return;
            lastTenth = tenth;
            Timing.Log($"{row}: {tenth * 10}% (batch {value.Batch + 1}/{value.Batches}, step {value.Step}/{value.Steps})");
        }
    }
}
