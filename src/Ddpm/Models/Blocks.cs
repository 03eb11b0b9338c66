using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ddpm.Models;

/// <summary>GroupNorm with epsilon 1e-6 (the official code's) and its affine parameters set to 1 and 0.</summary>
internal static class Norm
{
    /// <summary>GroupNorm ε of the official code (tf.contrib.layers.group_norm's default).</summary>
    public const double Epsilon = 1e-6;

    public static GroupNorm Create(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels, Epsilon);
        using var noGrad = no_grad();
        // TorchSharp 0.107 leaves these uninitialised; GroupNorm's defaults are weight 1, bias 0.
        norm.weight!.fill_(1.0);
        norm.bias!.fill_(0.0);
        return norm;
    }
}

/// <summary>
/// ResNet block of the paper's U-Net: GroupNorm → swish → conv3×3, plus a projection of the timestep embedding,
/// then GroupNorm → swish → dropout → conv3×3, added to the input (through a 1×1 convolution when channels change).
/// Field names are the state-dict keys of the official model's PyTorch port. Each intermediate is released as soon as
/// this code is done with it; autograd keeps its own references to what the backward pass needs.
/// </summary>
public sealed class ResnetBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear temb_proj;
    private readonly GroupNorm norm2;
    private readonly Conv2d conv2;
    private readonly Conv2d? nin_shortcut;
    private readonly double dropoutRate;
    private readonly DropoutStream dropoutStream;

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="outChannels"/> taking a <paramref name="tembChannels"/> embedding.</summary>
    public ResnetBlock(int inChannels, int outChannels, int tembChannels, double dropoutRate, int groups, Generator init, DropoutStream dropout)
        : base(nameof(ResnetBlock))
    {
        norm1 = Norm.Create(groups, inChannels);
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        temb_proj = nn.Linear(tembChannels, outChannels);
        norm2 = Norm.Create(groups, outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) nin_shortcut = nn.Conv2d(inChannels, outChannels, 1);
        this.dropoutRate = dropoutRate;
        dropoutStream = dropout;
        Init.Default(conv1, init);
        Init.Default(temb_proj, init);
        Init.Zero(conv2);
        if (nin_shortcut is not null) Init.Default(nin_shortcut, init);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var h = Eager.Then(norm1.call(x), a => F.silu(a));
        h = Eager.Then(h, a => Layout.SafeConv(a, conv1.call));
        using (var proj = Eager.Then(F.silu(temb), temb_proj.call)) h.AddInPlace(proj.view(proj.shape[0], proj.shape[1], 1, 1));
        h = Eager.Then(h, norm2.call);
        h = Eager.Then(h, a => F.silu(a));
        if (training && dropoutRate > 0)
        {
            // Multiplying by a boolean mask makes autograd keep one byte per element for the backward pass, not four
            // (or two in bf16); the inverted-dropout scale follows in place.
            // Drawn on the CPU (the stream's state is two integers), then moved to the activations' device.
            using var drawn = dropoutStream.KeepBits(h.shape, dropoutRate);
            using var keep = drawn.device_type == h.device_type ? drawn.alias() : drawn.to(h.device);
            h = Eager.Then(h, a => a.mul(keep));
            h.TimesInPlace(1.0 / (1.0 - dropoutRate));
        }
        h = Eager.Then(h, a => Layout.SafeConv(a, conv2.call));
        if (nin_shortcut is null) return h.AddInPlace(x).MoveToOuterDisposeScope();
        using var skip = nin_shortcut.call(x);
        return h.AddInPlace(skip).MoveToOuterDisposeScope();
    }
}

/// <summary>Memory layouts of 4-d activations.</summary>
internal static class Layout
{
    /// <summary>Whether <paramref name="x"/> [N, C, H, W] is stored channels-last (C innermost, then W, H, N).</summary>
    public static bool IsChannelsLast(Tensor x) =>
        x.dim() == 4 && x.stride(1) == 1 && x.stride(3) == x.shape[1] && x.stride(2) == x.shape[1] * x.shape[3]
        && x.stride(0) == x.shape[1] * x.shape[2] * x.shape[3];

    /// <summary>
    /// <paramref name="x"/> with the same shape and values, stored channels-last (a copy unless it already is).
    /// TorchSharp has no memory-format argument, so the layout is made by permuting to NHWC, copying contiguously and
    /// permuting the view back; libtorch recognises the result by its strides.
    /// </summary>
    public static Tensor ToChannelsLast(Tensor x)
    {
        if (IsChannelsLast(x)) return x.alias();
        using var nhwc = x.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }

    /// <summary>Input channels are a multiple of this in oneDNN's blocked layout for AVX-512 (8 for AVX2).</summary>
    private const int OneDnnChannelBlock = 16;

    /// <summary>
    /// <paramref name="conv"/> (a 3×3 convolution) applied to <paramref name="x"/>, with the same result layout. On the
    /// CPU, oneDNN's direct convolution of a plain (NCHW) float input whose channel count is above a block (16) and not
    /// a multiple of it gives wrong results (max abs error ~1 against float64 for 24 or 40 channels; libtorch 2.10 and
    /// PyTorch 2.6, oneDNN 3.7, AVX-512): the input is then given channels-last, which takes a correct path, and the
    /// result made contiguous again. Ddpm's presets (widths multiples of 16) never take this path.
    /// </summary>
    public static Tensor SafeConv(Tensor x, Func<Tensor, Tensor> conv)
    {
        var channels = x.dim() == 4 ? x.shape[1] : 0;
        if (x.device_type != DeviceType.CPU || channels <= OneDnnChannelBlock || channels % OneDnnChannelBlock == 0 || IsChannelsLast(x))
            return conv(x);
        using var input = ToChannelsLast(x);
        using var output = conv(input);
        return output.contiguous();
    }

    /// <summary>
    /// <paramref name="conv"/> (a 3×3 convolution with <paramref name="outChannels"/> outputs) applied to <paramref name="x"/>
    /// so that its backward pass is right too. On the CPU, libtorch 2.10's oneDNN backward-data of a plain (NCHW) float32
    /// or bfloat16 convolution with fewer than 16 output channels gives wrong and run-to-run different input gradients
    /// (relative error ~0.3 against float64, NaN at times, for 4–64 input channels at 8–28 pixels) while the channels-last
    /// path is right to rounding; under autograd such convolutions therefore take channels-last input. Otherwise as
    /// <see cref="SafeConv(Tensor, Func{Tensor, Tensor})"/>.
    /// </summary>
    public static Tensor SafeConv(Tensor x, Func<Tensor, Tensor> conv, long outChannels)
    {
        if (x.device_type != DeviceType.CPU || outChannels >= OneDnnChannelBlock || !x.requires_grad || !is_grad_enabled() || IsChannelsLast(x))
            return SafeConv(x, conv);
        using var input = ToChannelsLast(x);
        using var output = conv(input);
        return output.contiguous();
    }
}

/// <summary>Chains tensor operations and frees each input as soon as its result exists.</summary>
internal static class Eager
{
    /// <summary><paramref name="next"/> applied to <paramref name="input"/>, whose handle is then released.</summary>
    public static Tensor Then(Tensor input, Func<Tensor, Tensor> next)
    {
        var output = next(input);
        if (!ReferenceEquals(output, input)) input.Dispose();
        return output;
    }
}

/// <summary>Single-head self-attention over all positions of a feature map, with a residual connection (the paper's U-Net).</summary>
public sealed class AttnBlock : nn.Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv2d q;
    private readonly Conv2d k;
    private readonly Conv2d v;
    private readonly Conv2d proj_out;

    /// <summary>Default of <see cref="FusedFromPositions"/>: the 32×32 attention of 64-pixel models and above.</summary>
    public const int DefaultFusedFromPositions = 1024;

    /// <summary>
    /// Under autograd, feature maps with at least this many positions use libtorch's fused attention (see
    /// <see cref="forward"/>); set through <see cref="UNet.FusedAttentionFromPositions"/>. Not saved.
    /// </summary>
    public int FusedFromPositions { get; set; } = DefaultFusedFromPositions;

    /// <summary>Attention over <paramref name="channels"/> channels.</summary>
    public AttnBlock(int channels, int groups, Generator init) : base(nameof(AttnBlock))
    {
        norm = Norm.Create(groups, channels);
        q = nn.Conv2d(channels, channels, 1);
        k = nn.Conv2d(channels, channels, 1);
        v = nn.Conv2d(channels, channels, 1);
        proj_out = nn.Conv2d(channels, channels, 1);
        Init.Default(q, init);
        Init.Default(k, init);
        Init.Default(v, init);
        Init.Zero(proj_out);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], hh = x.shape[2], ww = x.shape[3];
        var n = hh * ww;
        // q, k and v in one 1×1 convolution over the stacked weights (the parameters stay three, as in the official
        // model): one pass over the normalised input instead of three.
        Tensor qkv;
        using (var h = norm.call(x))
        using (var weight = cat([q.weight!, k.weight!, v.weight!], 0))
        using (var bias = cat([q.bias!, k.bias!, v.bias!], 0))
        {
            qkv = F.conv2d(h, weight, bias).view(b, 3, c, n);
        }
        Tensor merged;
        using (qkv)
        using (var qf = qkv.select(1, 0))
        using (var kf = qkv.select(1, 1))
        using (var vf = qkv.select(1, 2))
        {
            var channelsLast = Layout.IsChannelsLast(x);
            merged = is_grad_enabled() && n >= FusedFromPositions && !channelsLast
                ? Fused(qf, kf, vf, [b, c, hh, ww])
                : Explicit(qf, kf, vf, [b, c, hh, ww], channelsLast);
        }
        using (merged) return proj_out.call(merged).AddInPlace(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// w = softmax(qᵀk/√C) over the HW key positions, out = v wᵀ, as the official code, from q, k, v [B, C, HW], as
    /// [B, C, H, W] (<paramref name="shape"/>). Explicit batched matmuls: faster than libtorch's fused CPU attention
    /// without gradients at every size and with gradients up to 256 positions. The softmax of half-precision scores is
    /// taken in float32, as autocast does.
    /// </summary>
    private static Tensor Explicit(Tensor qf, Tensor kf, Tensor vf, long[] shape, bool channelsLast)
    {
        using var scores = bmm(qf.transpose(1, 2), kf).TimesInPlace(1.0 / Math.Sqrt(shape[1]));
        using var weights = scores.dtype is ScalarType.BFloat16 or ScalarType.Float16
            ? Eager.Then(F.softmax(scores, 2, ScalarType.Float32), w => w.to(scores.dtype))
            : F.softmax(scores, 2);
        if (!channelsLast) return bmm(vf, weights.transpose(1, 2)).view(shape);
        // The same product as [B, HW, C] (out[b, i, c] = Σ_j w[b, i, j] v[b, c, j]), which viewed as [B, C, H, W] is
        // channels-last, the layout of the rest of the network.
        using var vt = vf.transpose(1, 2);
        using var rows = bmm(weights, vt);
        return rows.transpose(1, 2).view(shape);
    }

    /// <summary>
    /// The same attention with libtorch's fused kernel, which never stores the HW × HW weights: its backward pass
    /// recomputes them in blocks. Measured against <see cref="Explicit"/> (forward and backward, float32): 1.5× faster
    /// at 1024 positions with 64 channels, the same at 196 and 256; without gradients it is 1.2–1.7× slower at every
    /// size, so it serves training at large resolutions only. Its scale is 1/√C, as there.
    /// </summary>
    private static Tensor Fused(Tensor qf, Tensor kf, Tensor vf, long[] shape)
    {
        using var qs = qf.transpose(1, 2).unsqueeze(1);
        using var ks = kf.transpose(1, 2).unsqueeze(1);
        using var vs = vf.transpose(1, 2).unsqueeze(1);
        using var attended = F.scaled_dot_product_attention(qs, ks, vs, null!, 0.0, false);
        using var rows = attended.squeeze(1);
        using var columns = rows.transpose(1, 2);
        return columns.reshape(shape);
    }
}

/// <summary>Stride-2 3×3 convolution with TensorFlow "SAME" padding (right/bottom), as the official model.</summary>
public sealed class Downsample : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Halves the resolution of <paramref name="channels"/> channels.</summary>
    public Downsample(int channels, Generator init) : base(nameof(Downsample))
    {
        conv = nn.Conv2d(channels, channels, 3, stride: 2);
        Init.Default(conv, init);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var padded = F.pad(x, [0, 1, 0, 1]);
        return Layout.SafeConv(padded, conv.call);
    }
}

/// <summary>Nearest-neighbour ×2 up-sampling followed by a 3×3 convolution.</summary>
public sealed class Upsample : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;

    /// <summary>Doubles the resolution of <paramref name="channels"/> channels.</summary>
    public Upsample(int channels, Generator init) : base(nameof(Upsample))
    {
        conv = nn.Conv2d(channels, channels, 3, padding: 1);
        Init.Default(conv, init);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var up = F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
        return Layout.SafeConv(up, conv.call);
    }
}

/// <summary>
/// The U-Net's final 3×3 convolution (zero-initialised, as the official code), stored as a plain [out, in, 3, 3] weight.
/// libtorch 2.10's CPU convolution misbehaves when a convolution has fewer than 16 output channels (seen with 1 to 8,
/// never with 16 or more): under autograd its backward pass intermittently returns NaN input gradients, and in bfloat16
/// its forward pass is off by 20–37 % of the output's norm (0.3 % with 16 channels). The weight is therefore padded with
/// zero filters to a multiple of 16 under autograd and in reduced precision, and the extra outputs dropped, which gives
/// the same values and gradients.
/// </summary>
public sealed class OutputConv : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels are padded to a multiple of this under autograd and in reduced precision.</summary>
    public const int SafeChannelMultiple = 16;

    private readonly Parameter weight;
    private readonly Parameter bias;

    /// <summary>A zero-initialised 3×3 convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/>.</summary>
    public OutputConv(int inChannels, int outChannels) : base(nameof(OutputConv))
    {
        weight = new Parameter(zeros(outChannels, inChannels, 3, 3));
        bias = new Parameter(zeros(outChannels));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var outChannels = weight.shape[0];
        var padded = (int)((outChannels + SafeChannelMultiple - 1) / SafeChannelMultiple * SafeChannelMultiple);
        var reduced = weight.dtype is ScalarType.BFloat16 or ScalarType.Float16;
        if ((!is_grad_enabled() && !reduced) || padded == outChannels) return Layout.SafeConv(x, a => F.conv2d(a, weight, bias, padding: [1, 1]));
        using var scope = NewDisposeScope();
        if (zeroFilters is null || zeroFilters.dtype != weight.dtype
            || zeroFilters.device_type != weight.device_type || zeroFilters.device_index != weight.device_index)
        {
            // Allocated once per dtype and device, not on every step.
            zeroFilters?.Dispose();
            zeroBiases?.Dispose();
            zeroFilters = zeros([padded - outChannels, weight.shape[1], 3, 3], dtype: weight.dtype, device: weight.device).DetachFromDisposeScope();
            zeroBiases = zeros([padded - outChannels], dtype: bias.dtype, device: bias.device).DetachFromDisposeScope();
        }
        var w = cat([weight, zeroFilters], 0);
        var b = cat([bias, zeroBiases!], 0);
        return Layout.SafeConv(x, a => F.conv2d(a, w, b, padding: [1, 1])).narrow(1, 0, outChannels).MoveToOuterDisposeScope();
    }

    // The zero filters and biases that pad the output channels under autograd; not parameters, not saved.
    private Tensor? zeroFilters;
    private Tensor? zeroBiases;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            zeroFilters?.Dispose();
            zeroBiases?.Dispose();
        }
        base.Dispose(disposing);
    }
}
