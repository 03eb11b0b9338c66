using System.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Training;

/// <summary>
/// Gradient clipping's scale, Adam's update (Kingma &amp; Ba 2015, Algorithm 1, as <c>torch.optim.Adam</c>) and the
/// exponential moving average of the weights, applied together in one pass over each parameter's memory: every
/// element of the gradient, both moments, the weight and its average is read once and written once.
/// Done with libtorch's operations, the same work is eleven passes over memory (the clip's multiplication, seven for
/// Adam, three for the EMA's lerp), about 3.7 GB per step for the 35.7 M-parameter CIFAR-10 model, which makes it
/// memory-bound; PyTorch offers the same fusion as <c>Adam(fused=True)</c>.
/// The state is <see cref="Adam"/>'s own (<c>exp_avg</c>, <c>exp_avg_sq</c>, <c>step</c>), so checkpoints and
/// <c>save_py</c>/<c>load_py</c> are unchanged. Each element's arithmetic is libtorch's, operation for operation in
/// float32 with fused multiply-adds where its vectorised kernels use them, so the result agrees with
/// <see cref="InPlaceAdam"/> to the last bit or two; it does not depend on how elements are split between threads.
/// </summary>
internal static class FusedAdam
{
    // Elements per parallel chunk, and the size below which a tensor is updated on the calling thread.
    private const int ChunkElements = 1 << 16;
    private const long ParallelThreshold = 1 << 17;

    /// <summary>Whether this update applies: an <see cref="InPlaceAdam"/>-supported optimizer over contiguous float32 CPU parameters.</summary>
    public static bool Supports(Adam optimizer) => InPlaceAdam.Supports(optimizer)
        && optimizer.ParamGroups.Cast<ParamGroup>().SelectMany(g => g.Parameters).All(p => p.dtype == ScalarType.Float32 && p.device_type == DeviceType.CPU && p.is_contiguous());

    /// <summary>
    /// The ℓ2 norm of all gradients together, as <c>torch.nn.utils.clip_grad_norm_</c> computes it, and the factor it
    /// scales them by: min(1, <paramref name="maxNorm"/> / (norm + 1e-6)), in float32 as PyTorch.
    /// </summary>
    public static (double Norm, float Scale) ClipScale(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        var norms = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!.norm()).ToList();
        if (norms.Count == 0) return (0, 1f);
        var total = stack(norms).norm().item<float>();
        var scale = (float)maxNorm / (total + 1e-6f);
        return (total, scale < 1f ? scale : 1f);
    }

    /// <summary>
    /// One step of <paramref name="optimizer"/> with every gradient multiplied by <paramref name="gradScale"/> first
    /// (gradients themselves are left as they are), then, if <paramref name="averageOf"/> is given, each parameter's
    /// average moved towards the new weight: average += (1 − <paramref name="emaDecay"/>)·(weight − average).
    /// </summary>
    public static void Step(Adam optimizer, float gradScale, Func<Tensor, Tensor?>? averageOf = null, double emaDecay = 0)
    {
        if (!Supports(optimizer)) throw new ArgumentException("FusedAdam needs Adam without weight decay, AMSGrad or maximize over contiguous float32 CPU parameters.", nameof(optimizer));
        using var noGrad = no_grad();
        var states = optimizer.state_dict().State;
        var emaWeight = (float)(1.0 - emaDecay);
        var index = 0;
        foreach (var group in optimizer.ParamGroups.Cast<ParamGroup>())
        {
            var options = (Adam.Options)group.Options;
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value;
            var lr = options.LearningRate!.Value;
            foreach (var parameter in group.Parameters)
            {
                var state = (Adam.State)states[index++];
                using var given = parameter.grad;
                if (given is null) continue;
                // A gradient of another layout or type (never produced by this library's networks) is read through a
                // contiguous float32 copy, so that no parameter is left half-updated.
                using var grad = given.is_contiguous() && given.dtype == ScalarType.Float32 ? given.alias() : given.to(ScalarType.Float32).contiguous();
                state.step += 1;
                var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                var coefficients = new Coefficients(
                    gradScale,
                    (float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2),
                    (float)Math.Sqrt(biasCorrection2), (float)options.eps!.Value, (float)-(lr / biasCorrection1),
                    emaWeight);
                var average = averageOf?.Invoke(parameter);
                Update(parameter, grad, state.exp_avg, state.exp_avg_sq, average, coefficients);
            }
        }
    }

    /// <summary>The per-step constants of one parameter's update, in float32 as libtorch's kernels take them.</summary>
    private readonly record struct Coefficients(
        float GradScale, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float Correction2, float Epsilon, float StepSize, float EmaWeight)
    {
        /// <summary>libtorch's lerp takes the other form above ½: end − (end − start)·(1 − w).</summary>
        public bool LargeEmaWeight => EmaWeight >= 0.5f;
    }

    private static unsafe void Update(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? average, Coefficients c)
    {
        var count = parameter.numel();
        if (expAvg.numel() != count || expAvgSq.numel() != count || grad.numel() != count || (average is not null && average.numel() != count))
            throw new ArgumentException("FusedAdam: a parameter, its gradient, moments and average differ in size.");
        // libtorch's memory: fixed only gives the spans' addresses to the parallel loop.
        var averageBytes = average is null ? Span<byte>.Empty : average.bytes;
        fixed (byte* pp = parameter.bytes)
        fixed (byte* pg = grad.bytes)
        fixed (byte* pm = expAvg.bytes)
        fixed (byte* pv = expAvgSq.bytes)
        fixed (byte* pe = averageBytes)
        {
            var pointers = new Pointers((nint)pp, (nint)pg, (nint)pm, (nint)pv, (nint)pe);
            if (count < ParallelThreshold)
            {
                Range(pointers, 0, count, c);
                return;
            }
            var chunks = (count + ChunkElements - 1) / ChunkElements;
            Parallel.For(0, chunks, chunk =>
            {
                var from = chunk * ChunkElements;
                Range(pointers, from, Math.Min(count, from + ChunkElements), c);
            });
        }
    }

    private readonly record struct Pointers(nint Parameter, nint Grad, nint ExpAvg, nint ExpAvgSq, nint Average);

    private static unsafe void Range(Pointers at, long from, long to, Coefficients c)
    {
        var p = (float*)at.Parameter;
        var g = (float*)at.Grad;
        var m = (float*)at.ExpAvg;
        var v = (float*)at.ExpAvgSq;
        var e = (float*)at.Average;
        var i = from;
        var width = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var scale = new Vector<float>(c.GradScale);
            var beta1 = new Vector<float>(c.Beta1);
            var oneMinusBeta1 = new Vector<float>(c.OneMinusBeta1);
            var beta2 = new Vector<float>(c.Beta2);
            var oneMinusBeta2 = new Vector<float>(c.OneMinusBeta2);
            var correction2 = new Vector<float>(c.Correction2);
            var epsilon = new Vector<float>(c.Epsilon);
            var stepSize = new Vector<float>(c.StepSize);
            var emaWeight = new Vector<float>(c.EmaWeight);
            var emaComplement = new Vector<float>(1f - c.EmaWeight);
            for (; i + width <= to; i += width)
            {
                // grads.mul_(clip scale); exp_avg.mul_(β1).add_(g, 1 − β1); exp_avg_sq.mul_(β2).addcmul_(g, g, 1 − β2);
                // denom = sqrt(exp_avg_sq) / √(1 − β2^t) + ε; p.addcdiv_(exp_avg, denom, −lr / (1 − β1^t)).
                var gi = Vector.Load(g + i) * scale;
                var mi = Vector.FusedMultiplyAdd(gi, oneMinusBeta1, Vector.Load(m + i) * beta1);
                var vi = Vector.Load(v + i) * beta2 + oneMinusBeta2 * gi * gi;
                var denominator = Vector.SquareRoot(vi) / correction2 + epsilon;
                var pi = Vector.Load(p + i) + stepSize * mi / denominator;
                mi.Store(m + i);
                vi.Store(v + i);
                pi.Store(p + i);
                if (e != null)
                {
                    // average.lerp_(p, w): average + w·(p − average) for w < ½, else p − (p − average)·(1 − w).
                    var ei = Vector.Load(e + i);
                    var moved = c.LargeEmaWeight
                        ? Vector.FusedMultiplyAdd(-emaComplement, pi - ei, pi)
                        : Vector.FusedMultiplyAdd(emaWeight, pi - ei, ei);
                    moved.Store(e + i);
                }
            }
        }
        for (; i < to; i++)
        {
            var gi = g[i] * c.GradScale;
            var mi = MathF.FusedMultiplyAdd(gi, c.OneMinusBeta1, m[i] * c.Beta1);
            var vi = v[i] * c.Beta2 + c.OneMinusBeta2 * gi * gi;
            var denominator = MathF.Sqrt(vi) / c.Correction2 + c.Epsilon;
            var pi = p[i] + c.StepSize * mi / denominator;
            m[i] = mi;
            v[i] = vi;
            p[i] = pi;
            if (e != null)
            {
                e[i] = c.LargeEmaWeight
                    ? MathF.FusedMultiplyAdd(-(1f - c.EmaWeight), pi - e[i], pi)
                    : MathF.FusedMultiplyAdd(c.EmaWeight, pi - e[i], e[i]);
            }
        }
    }
}
