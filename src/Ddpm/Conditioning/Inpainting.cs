using static TorchSharp.torch;

namespace Ddpm.Conditioning;

/// <summary>
/// Inpainting with an unconditional model (RePaint, Lugmayr et al. 2022): after every reverse step the known pixels are
/// replaced by the known image noised to the same level, q(x_{t−1} | x_0), and with <see cref="Resample"/> &gt; 1 the chain
/// jumps back <see cref="JumpLength"/> steps (forward noise, q(x_{t+j} | x_t)) and redoes them, so the generated region
/// can agree with the known one. <see cref="Resample"/> = 1 is the plain replacement method (Song et al. 2021).
/// </summary>
/// <param name="Known">The images to complete [N, C, H, W] in [−1, 1] (their pixels inside the mask are ignored).</param>
/// <param name="Mask">
/// 1 where pixels are to be generated, 0 where they are known: [N or 1, 1 or C, H, W]. The final image equals
/// <paramref name="Known"/> exactly where the mask is 0.
/// </param>
public sealed record InpaintingRequest(Tensor Known, Tensor Mask)
{
    /// <summary>Steps of each jump back (RePaint's j; diffusers' <c>jump_length</c>, default 10).</summary>
    public int JumpLength { get; init; } = 10;

    /// <summary>Times each stretch of the chain is run (RePaint's r; diffusers' <c>jump_n_sample</c>, default 10). 1: no resampling.</summary>
    public int Resample { get; init; } = 10;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line reason when the request cannot be run for <paramref name="count"/> images of [C, H, W].</summary>
    public InpaintingRequest Validate(int count, int channels, int height, int width)
    {
        if (JumpLength < 1) throw new ArgumentException($"the jump length must be at least 1 (got {JumpLength}).");
        if (Resample < 1) throw new ArgumentException($"the resample count must be at least 1 (got {Resample}).");
        if (Known.dim() != 4 || Known.shape[0] != count || Known.shape[1] != channels || Known.shape[2] != height || Known.shape[3] != width)
            throw new ArgumentException($"the known images must be [{count}, {channels}, {height}, {width}], got [{string.Join(", ", Known.shape)}].");
        if (Mask.dim() != 4 || (Mask.shape[0] != 1 && Mask.shape[0] != count) || (Mask.shape[1] != 1 && Mask.shape[1] != channels)
            || Mask.shape[2] != height || Mask.shape[3] != width)
            throw new ArgumentException($"the mask must be [{count} or 1, 1 or {channels}, {height}, {width}], got [{string.Join(", ", Mask.shape)}].");
        return this;
    }
}

/// <summary>
/// RePaint's order of visits over K sampling positions (diffusers' <c>RePaintScheduler</c>): positions counted from the end
/// of the chain (0 = the last step), walked down one at a time; at every <see cref="InpaintingRequest.JumpLength"/>-th
/// position below K − j the walk goes back up j positions, r − 1 times.
/// </summary>
public static class RePaintSchedule
{
    /// <summary>
    /// The walk as positions k in 0..K−1, from K − 1 down to 0, with the jumps back; a step from k to k − 1 is a model
    /// call, a step from k to k + 1 is forward noise. With r = 1 it is K − 1, …, 0.
    /// </summary>
    public static IReadOnlyList<int> Walk(int positions, int jumpLength, int resample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(positions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(jumpLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(resample, 1);
        var jumps = new Dictionary<int, int>();
        for (var j = 0; j < positions - jumpLength; j += jumpLength) jumps[j] = resample - 1;
        var walk = new List<int>();
        var t = positions;
        while (t >= 1)
        {
            t--;
            walk.Add(t);
            if (jumps.GetValueOrDefault(t) > 0)
            {
                jumps[t]--;
                for (var i = 0; i < jumpLength; i++) walk.Add(++t);
            }
        }
        return walk;
    }

    /// <summary>The model calls of <paramref name="walk"/> over <paramref name="positions"/> positions: its steps down (K for r = 1).</summary>
    public static int ModelCalls(IReadOnlyList<int> walk, int positions) => walk.Zip(walk.Prepend(positions)).Count(p => p.First < p.Second);
}
