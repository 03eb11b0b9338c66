using Ddpm.Models;
using Ddpm.Sampling;
using Ddpm.Training;

namespace Ddpm.Bench;

/// <summary>
/// Every row the harness knows. The first rows are those of the PyTorch reference (<c>PLAN</c> in
/// <c>unet_bench.py</c>) with its warm-up counts, except that every row times at least 7 iterations (the reference
/// times 5 for cifar, 4 at batch 32) and that bf16 rows and complete sampling runs are added.
/// </summary>
internal static class RowCatalog
{
    // The reference's method: warm-up 3 / median of 7 for small; warm-up 2 for cifar, whose median here is of 7 too.
    private const int SmallWarmup = 3;
    private const int SmallIterations = 7;
    private const int CifarWarmup = 2;
    private const int CifarIterations = 7;

    // Growth rows: 24 configurations up to 64×64 at batch 128, so fewer iterations than the main rows.
    private const int GrowthWarmup = 2;
    private const int GrowthIterations = 5;

    /// <summary>The timestep at which forward rows take their DDPM step, as the reference (i = 500).</summary>
    public const int ForwardTimestep = 500;

    public const string TrainIncludes =
        "Trainer.TrainStep(): next batch from the in-memory loader, t ~ U{0..999} and ε, L_simple, zero_grad, backward, "
        + "loss.item(), clip_grad_norm_(1.0), Adam step, EMA update (bf16: copy of the float32 master weights into the bf16 "
        + "compute copy and of its gradients back)";

    public const string ForwardIncludes =
        "one DDPM ancestral step at t = 500 under inference_mode, eval: U-Net forward (bf16: input cast to bfloat16, output back "
        + "to float32) + DdpmSampler.Step (posterior mean, clip of x̂_0, fresh noise)";

    public const string RunIncludes =
        "SamplingPipeline.Generate from x_T ~ N(0, I) to x_0: per-image noise generators, one model call and one sampler step per timestep";

    public static IReadOnlyList<string> Groups { get; } = ["all", "train", "sample", "forward", "runs", "fast", "small", "cifar10", "fp32", "bf16", "growth"];

    // Declared before the row lists: static initialisers run in textual order.
    public static IReadOnlyList<int> GrowthSizes { get; } = [28, 32, 64];

    public static IReadOnlyList<int> GrowthBatches { get; } = [16, 32, 64, 128];

    public static IReadOnlyList<RowSpec> Main { get; } = BuildMain();

    public static IReadOnlyList<RowSpec> Growth { get; } = BuildGrowth();

    public static IEnumerable<RowSpec> All => Main.Concat(Growth);

    public static RowSpec Find(string name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"Unknown row '{name}'. Try --list.");

    /// <summary>Rows matching any comma-separated token of <paramref name="spec"/> (a row name or a group).</summary>
    public static IReadOnlyList<RowSpec> Select(string spec)
    {
        var tokens = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var token in tokens)
        {
            if (!Groups.Contains(token) && All.All(r => r.Name != token))
                throw new ArgumentException($"--rows: '{token}' is neither a row nor a group ({string.Join(", ", Groups)}). Try --list.");
        }
        return All.Where(r => tokens.Any(t => t == r.Name || r.Tags.Contains(t))).ToList();
    }

    private static List<RowSpec> BuildMain()
    {
        var rows = new List<RowSpec>
        {
            Train("small", UNetConfig.Small, 64, Precision.Fp32, quickBatch: 8),
            Train("small", UNetConfig.Small, 128, Precision.Fp32, quickBatch: 16),
            Train("small", UNetConfig.Small, 64, Precision.Bf16, quickBatch: 8),
            Train("small", UNetConfig.Small, 128, Precision.Bf16, quickBatch: 16),
            Train("cifar10", UNetConfig.Cifar10, 8, Precision.Fp32, quickBatch: 2),
            Train("cifar10", UNetConfig.Cifar10, 32, Precision.Fp32, quickBatch: 4),
            Train("cifar10", UNetConfig.Cifar10, 8, Precision.Bf16, quickBatch: 2),
            Forward("small", UNetConfig.Small, 64, Precision.Fp32, quickBatch: 8),
            Forward("small", UNetConfig.Small, 64, Precision.Bf16, quickBatch: 8),
            Forward("cifar10", UNetConfig.Cifar10, 16, Precision.Fp32, quickBatch: 2),
            Forward("cifar10", UNetConfig.Cifar10, 16, Precision.Bf16, quickBatch: 2),
            // One DDPM-1000 run is 1000 timed steps (about 4 min); the row also reports their median.
            Run("ddpm1000", SamplerSettings.Ddpm(), Precision.Fp32, iterations: 1, ["fast"]),
            Run("ddim50", SamplerSettings.Ddim(50), Precision.Fp32, iterations: 7),
            // Fast sampling (docs/sampling.md): the solvers (SDE-DPM-Solver++ the default) at 10 and 20 model calls beside DDPM-1000, fp32 and bf16.
            Run("ddpm1000", SamplerSettings.Ddpm(), Precision.Bf16, iterations: 1, ["fast"]),
        };
        foreach (var precision in new[] { Precision.Fp32, Precision.Bf16 })
        {
            foreach (var steps in new[] { 10, 20 })
            {
                rows.Add(Run($"sdedpmpp2m{steps}", SamplerSettings.SdeDpmSolverPlusPlus(steps, order: 2), precision, iterations: 7, ["fast"]));
                rows.Add(Run($"dpmpp2m{steps}", SamplerSettings.DpmSolverPlusPlus(steps, order: 2), precision, iterations: 7, ["fast"]));
                rows.Add(Run($"unipc{steps}", SamplerSettings.UniPc(steps, order: 2), precision, iterations: 7, ["fast"]));
                rows.Add(Run($"ddim{steps}", SamplerSettings.Ddim(steps), precision, iterations: 7, ["fast"]));
            }
        }
        return rows;
    }

    private static RowSpec Train(string preset, UNetConfig model, int batch, Precision precision, int quickBatch) =>
        ModelRow(RowKind.Train, "train", ["train"], TrainIncludes, preset, model, batch, precision, quickBatch);

    private static RowSpec Forward(string preset, UNetConfig model, int batch, Precision precision, int quickBatch) =>
        ModelRow(RowKind.Forward, "sample", ["sample", "forward"], ForwardIncludes, preset, model, batch, precision, quickBatch);

    private static RowSpec ModelRow(RowKind kind, string prefix, string[] kindTags, string includes,
        string preset, UNetConfig model, int batch, Precision precision, int quickBatch)
    {
        var small = preset == "small";
        var p = precision == Precision.Bf16 ? "bf16" : "fp32";
        return new RowSpec
        {
            Name = $"{prefix}-{preset}-b{batch}-{p}",
            Kind = kind,
            Preset = preset,
            Model = model,
            Batch = batch,
            Precision = precision,
            Warmup = small ? SmallWarmup : CifarWarmup,
            Iterations = small ? SmallIterations : CifarIterations,
            QuickBatch = quickBatch,
            Tags = ["all", .. kindTags, preset, p],
            Includes = includes,
        };
    }

    /// <summary>A complete sampling run of 64 small images in one batch (4 with --quick).</summary>
    private static RowSpec Run(string sampler, SamplerSettings settings, Precision precision, int iterations, string[]? tags = null)
    {
        const int images = 64;
        var p = precision == Precision.Bf16 ? "bf16" : "fp32";
        return new RowSpec
        {
            Name = $"{sampler}-small-n{images}-{p}",
            Kind = RowKind.Run,
            Preset = "small",
            Model = UNetConfig.Small,
            Batch = images,
            Images = images,
            Sampler = settings,
            Precision = precision,
            // Warm-up of a run row: single model calls before the first timed run.
            Warmup = SmallWarmup,
            Iterations = iterations,
            QuickBatch = 4,
            Tags = ["all", "sample", "runs", "small", p, .. tags ?? []],
            Includes = RunIncludes,
        };
    }

    /// <summary>
    /// The small architecture (ch 32, multipliers 1, 2, 2) at 28, 32 and 64 pixels. Attention stays at the second
    /// level, i.e. half the input resolution: 14 at 28 (the preset), 16 at 32, 32 at 64; the middle block always attends.
    /// </summary>
    public static UNetConfig GrowthModel(int size) => size == UNetConfig.Small.ImageSize
        ? UNetConfig.Small
        : UNetConfig.Small with { ImageSize = size, AttentionResolutions = [size / 2] };

    private static List<RowSpec> BuildGrowth()
    {
        var rows = new List<RowSpec>();
        foreach (var size in GrowthSizes)
        {
            foreach (var batch in GrowthBatches)
            {
                var preset = size == UNetConfig.Small.ImageSize ? "small" : $"small-{size}";
                foreach (var kind in new[] { RowKind.Train, RowKind.Forward })
                {
                    rows.Add(new RowSpec
                    {
                        Name = $"growth-{(kind == RowKind.Train ? "train" : "sample")}-{size}-b{batch}",
                        Kind = kind,
                        Preset = preset,
                        Model = GrowthModel(size),
                        Batch = batch,
                        Warmup = GrowthWarmup,
                        Iterations = GrowthIterations,
                        QuickBatch = Math.Max(2, batch / 8),
                        Tags = ["growth"],
                        Includes = kind == RowKind.Train ? TrainIncludes : ForwardIncludes,
                    });
                }
            }
        }
        return rows;
    }
}
