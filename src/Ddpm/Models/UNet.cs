using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ddpm.Models;

/// <summary>
/// The noise-prediction U-Net of Ho et al. 2020 (Appendix B): sinusoidal timestep embedding → 2-layer MLP,
/// ResNet blocks with GroupNorm, self-attention at chosen resolutions and in the middle, strided-convolution
/// down-sampling, nearest + convolution up-sampling, skip connections, and a zero-initialised output convolution.
/// Parameter names follow the official model's PyTorch port (<c>temb.dense.0</c>, <c>down.0.block.0.conv1</c>, …),
/// so its published weights load unchanged.
/// </summary>
public sealed class UNet : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly TimestepEmbedding temb;
    private readonly Conv2d conv_in;
    private readonly ModuleList<Level> down;
    private readonly MidBlock mid;
    private readonly ModuleList<Level> up;
    private readonly GroupNorm norm_out;
    private readonly OutputConv conv_out;

    /// <summary>Builds the network for <paramref name="config"/>, initialising weights from <paramref name="seed"/>.</summary>
    public UNet(UNetConfig config, long seed = 0) : base(nameof(UNet))
    {
        Config = config.Validate();
        using var init = new Generator((ulong)seed);
        Dropout = new DropoutStream(unchecked((long)SeedMixing.SplitMix64((ulong)seed ^ DropoutSeedSalt)));
        var ch = config.BaseChannels;
        var tembCh = ch * 4;
        var groups = config.NormGroups;
        temb = new TimestepEmbedding(ch, tembCh, init);
        conv_in = nn.Conv2d(config.InChannels + config.ConditionChannels, ch, 3, padding: 1);
        Init.Default(conv_in, init);

        var levels = config.ChannelMultipliers.Count;
        var skipChannels = new Stack<int>();
        skipChannels.Push(ch);
        var blockIn = ch;
        var resolution = config.ImageSize;
        var downLevels = new List<Level>();
        for (var level = 0; level < levels; level++)
        {
            var blockOut = ch * config.ChannelMultipliers[level];
            var attend = config.AttentionResolutions.Contains(resolution);
            var blocks = new List<ResnetBlock>();
            var attns = new List<AttnBlock>();
            for (var i = 0; i < config.NumResBlocks; i++)
            {
                blocks.Add(new ResnetBlock(blockIn, blockOut, tembCh, config.Dropout, groups, init, Dropout));
                blockIn = blockOut;
                if (attend) attns.Add(new AttnBlock(blockIn, groups, init));
                skipChannels.Push(blockIn);
            }
            Downsample? downsample = null;
            if (level != levels - 1)
            {
                downsample = new Downsample(blockIn, init);
                skipChannels.Push(blockIn);
                resolution /= 2;
            }
            downLevels.Add(new Level(blocks, attns, "downsample", downsample));
        }
        down = nn.ModuleList(downLevels.ToArray());
        mid = new MidBlock(blockIn, tembCh, config.Dropout, groups, init, Dropout);

        var upLevels = new Level[levels];
        for (var level = levels - 1; level >= 0; level--)
        {
            var blockOut = ch * config.ChannelMultipliers[level];
            var attend = config.AttentionResolutions.Contains(resolution);
            var blocks = new List<ResnetBlock>();
            var attns = new List<AttnBlock>();
            for (var i = 0; i < config.NumResBlocks + 1; i++)
            {
                blocks.Add(new ResnetBlock(blockIn + skipChannels.Pop(), blockOut, tembCh, config.Dropout, groups, init, Dropout));
                blockIn = blockOut;
                if (attend) attns.Add(new AttnBlock(blockIn, groups, init));
            }
            Upsample? upsample = null;
            if (level != 0)
            {
                upsample = new Upsample(blockIn, init);
                resolution *= 2;
            }
            upLevels[level] = new Level(blocks, attns, "upsample", upsample);
        }
        up = nn.ModuleList(upLevels);
        norm_out = Norm.Create(groups, blockIn);
        conv_out = new OutputConv(blockIn, config.OutChannels);
        RegisterComponents();
        if (config.NumClasses > 0)
        {
            // Drawn after every other weight, so an unconditional model's initialisation is unchanged. N(0, 1), as
            // PyTorch's nn.Embedding; the last row is the null class.
            var embedding = nn.Embedding(config.NumClasses + 1, tembCh);
            using (no_grad())
            {
                using var draw = randn(embedding.weight!.shape, generator: init);
                embedding.weight!.copy_(draw);
            }
            labelEmbedding = embedding;
            register_module(LabelEmbeddingKey, embedding);
        }
    }

    /// <summary>The state-dict name of the class embedding (guided-diffusion's).</summary>
    public const string LabelEmbeddingKey = "label_emb";

    private readonly Embedding? labelEmbedding;

    /// <summary>The class embedding of <paramref name="labels"/> (null or −1: the null class) in <paramref name="x"/>'s dtype.</summary>
    private Tensor ClassEmbedding(Tensor? labels, Tensor x)
    {
        using var scope = NewDisposeScope();
        var nullClass = Config.NumClasses;
        if (labels is not null && labels.shape[0] > 0 && labels.max().item<long>() >= nullClass)
            throw new ArgumentException($"Labels must lie in 0..{nullClass - 1} (or −1 for none); got {labels.max().item<long>()}.");
        var index = labels is null
            ? full([x.shape[0]], nullClass, dtype: ScalarType.Int64, device: x.device)
            : where(labels.lt(0), full_like(labels, nullClass), labels).to(ScalarType.Int64);
        var embedded = labelEmbedding!.call(index);
        return (embedded.dtype == x.dtype ? embedded : embedded.to(x.dtype)).MoveToOuterDisposeScope();
    }

    // Keeps the dropout stream apart from the weight initialisation drawn from the same seed.
    private const ulong DropoutSeedSalt = 0xD50D_0A7E_0000_0001UL;

    /// <summary>
    /// The stream of dropout masks, seeded from the constructor's seed; a trainer reseeds it and saves its position.
    /// Used only in training mode.
    /// </summary>
    public DropoutStream Dropout { get; }

    /// <summary>The configuration the network was built from.</summary>
    public UNetConfig Config { get; }

    /// <summary>
    /// Whether activations are kept channels-last (NHWC strides behind the NCHW shape, as PyTorch's
    /// <c>memory_format=torch.channels_last</c>): oneDNN's convolutions then read and write them directly instead of
    /// converting every input to their blocked layout and every output back. The input is converted once at the start
    /// and the output returned contiguous, so callers see the same values. Off by default: libtorch's channels-last
    /// GroupNorm kernel is slow for few channels per group and costs more than the conversions save (see
    /// docs/performance.md). Not saved.
    /// </summary>
    public bool ChannelsLast { get; set; }

    /// <summary>
    /// Under autograd, attention over feature maps with at least this many positions uses libtorch's fused attention,
    /// which does not keep the positions × positions weights for the backward pass (default
    /// <see cref="AttnBlock.DefaultFusedFromPositions"/>: 32×32 and above; the presets attend at 14×14 and 16×16 and
    /// are not affected). <see cref="int.MaxValue"/> turns it off. Not saved.
    /// </summary>
    public int FusedAttentionFromPositions
    {
        get => fusedAttentionFrom;
        set
        {
            fusedAttentionFrom = value;
            foreach (var (_, module) in named_modules())
            {
                if (module is AttnBlock attention) attention.FusedFromPositions = value;
            }
        }
    }

    private int fusedAttentionFrom = AttnBlock.DefaultFusedFromPositions;

    /// <summary>
    /// Loads weights saved with <c>save_safetensors</c> (strict: every key must match), ignoring the
    /// <see cref="TimestepEmbedding.LegacyFrequenciesKey"/> that files written by earlier Ddpm versions hold.
    /// </summary>
    public UNet LoadSafetensors(string path)
    {
        this.load_safetensors(path, strict: true, skip: [TimestepEmbedding.LegacyFrequenciesKey]);
        return this;
    }

    /// <summary>The embedding network (exposed for tests of its float32 sinusoids).</summary>
    public TimestepEmbedding TimestepEmbedding => temb;

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Predicts the model output (ε by default) for images <paramref name="x"/> [B, C, H, W] at 0-based timesteps
    /// <paramref name="t"/> [B]: unconditionally (the null class of a class-conditional model).
    /// </summary>
    public override Tensor forward(Tensor x, Tensor t) => ForwardConditioned(x, t);

    /// <summary>
    /// The model output for <paramref name="x"/> at timesteps <paramref name="t"/>, given each image's class
    /// <paramref name="labels"/> (int64 [B]; −1 or null: the null class) and, for a model with
    /// <see cref="UNetConfig.ConditionChannels"/>, the conditioning image <paramref name="condition"/> [B, C_cond, H, W],
    /// concatenated to x.
    /// </summary>
    public Tensor ForwardConditioned(Tensor x, Tensor t, Tensor? labels = null, Tensor? condition = null)
    {
        if (x.dim() != 4 || x.shape[1] != Config.InChannels || x.shape[2] != Config.ImageSize || x.shape[3] != Config.ImageSize)
        {
            throw new ArgumentException(
                $"The U-Net expects images [B, {Config.InChannels}, {Config.ImageSize}, {Config.ImageSize}], got [{string.Join(", ", x.shape)}].");
        }
        if (Config.ConditionChannels > 0 != condition is not null)
        {
            throw new ArgumentException(Config.ConditionChannels > 0
                ? $"This model is conditioned on a {Config.ConditionChannels}-channel image; none was given."
                : "This model takes no conditioning image.");
        }
        if (condition is not null && (condition.dim() != 4 || condition.shape[0] != x.shape[0] || condition.shape[1] != Config.ConditionChannels
            || condition.shape[2] != Config.ImageSize || condition.shape[3] != Config.ImageSize))
        {
            throw new ArgumentException(
                $"The conditioning image must be [{x.shape[0]}, {Config.ConditionChannels}, {Config.ImageSize}, {Config.ImageSize}], got [{string.Join(", ", condition.shape)}].");
        }
        if (labels is not null && labelEmbedding is null) throw new ArgumentException("This model is not class-conditional; it takes no labels.");
        if (labels is not null && (labels.dim() != 1 || labels.shape[0] != x.shape[0]))
            throw new ArgumentException($"Labels must be one per image [{x.shape[0]}], got [{string.Join(", ", labels.shape)}].");
        using var scope = NewDisposeScope();
        // Each activation is released as soon as this code is done with it, as Python's reference counting does for
        // PyTorch: without gradients its memory is freed at once, and under autograd the graph keeps its own
        // references to what the backward pass needs.
        var emb = temb.call(t, x.dtype);
        if (labelEmbedding is not null) emb = Eager.Then(emb, e => e + ClassEmbedding(labels, x));
        if (condition is not null) x = cat([x, condition.to(x.dtype)], 1);
        Tensor first;
        if (ChannelsLast)
        {
            using var input = Layout.ToChannelsLast(x);
            first = conv_in.call(input);
            // With one input channel both layouts have the same strides and libtorch keeps the plain one.
            if (!Layout.IsChannelsLast(first)) first = Eager.Then(first, Layout.ToChannelsLast);
        }
        else
        {
            first = conv_in.call(x);
        }
        var hs = new List<Tensor> { first };
        foreach (var level in down)
        {
            for (var i = 0; i < level.block.Count; i++)
            {
                var h = level.block[i].call(hs[^1], emb);
                if (level.attn.Count > 0)
                {
                    var attended = level.attn[i].call(h);
                    h.Dispose();
                    h = attended;
                }
                hs.Add(h);
            }
            if (level.Resample is not null) hs.Add(level.Resample.call(hs[^1]));
        }
        var hMid = mid.call(hs[^1], emb);
        for (var levelIndex = up.Count - 1; levelIndex >= 0; levelIndex--)
        {
            var level = up[levelIndex];
            for (var i = 0; i < level.block.Count; i++)
            {
                var skip = hs[^1];
                hs.RemoveAt(hs.Count - 1);
                var joined = cat([hMid, skip], 1);
                hMid.Dispose();
                skip.Dispose();
                hMid = level.block[i].call(joined, emb);
                joined.Dispose();
                if (level.attn.Count > 0)
                {
                    var attended = level.attn[i].call(hMid);
                    hMid.Dispose();
                    hMid = attended;
                }
            }
            if (level.Resample is not null)
            {
                var upsampled = level.Resample.call(hMid);
                hMid.Dispose();
                hMid = upsampled;
            }
        }
        var activated = Eager.Then(norm_out.call(hMid), a => F.silu(a));
        hMid.Dispose();
        var output = Eager.Then(activated, conv_out.call);
        if (ChannelsLast) output = Eager.Then(output, o => o.contiguous());
        return output.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Sinusoidal embedding of the timestep (Vaswani et al. 2017, as the official code's <c>get_timestep_embedding</c>)
/// followed by a 2-layer MLP with swish. The sinusoids are always computed in float32 on the timesteps' device, whatever
/// the network's dtype: in bfloat16 (8 significant bits) the phase t·f at t = 999 would be off by up to 1.8 rad. Only
/// their result is cast to the dense layers' dtype. The frequencies are not a buffer (the official port has no such
/// state-dict key), so <c>.to(dtype)</c> cannot cast them.
/// </summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    /// <summary>The state-dict key under which Ddpm versions before this one saved the frequencies; ignored when loading.</summary>
    public const string LegacyFrequenciesKey = "temb.frequencies";

    private readonly ModuleList<Linear> dense;
    private readonly int half;
    private readonly double scale;

    /// <summary>Embeds into <paramref name="channels"/> sinusoids, then to <paramref name="outChannels"/>.</summary>
    public TimestepEmbedding(int channels, int outChannels, Generator init) : base(nameof(TimestepEmbedding))
    {
        half = channels / 2;
        // f_i = exp(−log(10000)·i/(half − 1)), i = 0..half−1, as the official get_timestep_embedding.
        scale = half > 1 ? Math.Log(10000.0) / (half - 1) : 0.0;
        var first = nn.Linear(channels, outChannels);
        var second = nn.Linear(outChannels, outChannels);
        Init.Default(first, init);
        Init.Default(second, init);
        dense = nn.ModuleList(first, second);
        RegisterComponents();
    }

    /// <summary>
    /// [sin(t·f), cos(t·f)] for 0-based timesteps <paramref name="t"/> [B]: a float32 tensor [B, channels] on
    /// <paramref name="t"/>'s device, whatever the network's dtype.
    /// </summary>
    public Tensor Sinusoids(Tensor t)
    {
        using var scope = NewDisposeScope();
        var frequencies = exp(arange(half, dtype: ScalarType.Float32, device: t.device) * -scale);
        var args = t.to(ScalarType.Float32).unsqueeze(1) * frequencies.unsqueeze(0);
        return cat([args.sin(), args.cos()], 1).MoveToOuterDisposeScope();
    }

    /// <summary>The embedding of 0-based timesteps <paramref name="t"/> [B] in <paramref name="dtype"/>.</summary>
    public Tensor call(Tensor t, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var embedded = forward(t);
        return (embedded.dtype == dtype ? embedded : embedded.to(dtype)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor t)
    {
        using var scope = NewDisposeScope();
        var sinusoid = Sinusoids(t);
        var weightType = dense[0].weight!.dtype;
        if (sinusoid.dtype != weightType) sinusoid = sinusoid.to(weightType);
        var h = dense[1].call(F.silu(dense[0].call(sinusoid)));
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// One resolution level of the U-Net: ResNet blocks, attention after each when the level attends, and an optional
/// resampling layer registered as <c>downsample</c> or <c>upsample</c> (the official port's state-dict names).
/// </summary>
public sealed class Level : nn.Module
{
#pragma warning disable IDE1006 // field names are state-dict keys
    internal readonly ModuleList<ResnetBlock> block;
    internal readonly ModuleList<AttnBlock> attn;
#pragma warning restore IDE1006

    internal Level(IList<ResnetBlock> blocks, IList<AttnBlock> attns, string resampleName, nn.Module<Tensor, Tensor>? resample) : base(nameof(Level))
    {
        block = nn.ModuleList(blocks.ToArray());
        attn = nn.ModuleList(attns.ToArray());
        RegisterComponents();
        Resample = resample;
        if (resample is not null) register_module(resampleName, resample);
    }

    /// <summary>The down- or up-sampling layer after the blocks, or null at the end of the path.</summary>
    internal nn.Module<Tensor, Tensor>? Resample { get; }
}

/// <summary>The middle of the U-Net: ResNet block, attention, ResNet block.</summary>
public sealed class MidBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ResnetBlock block_1;
    private readonly AttnBlock attn_1;
    private readonly ResnetBlock block_2;

    internal MidBlock(int channels, int tembChannels, double dropout, int groups, Generator init, DropoutStream stream) : base(nameof(MidBlock))
    {
        block_1 = new ResnetBlock(channels, channels, tembChannels, dropout, groups, init, stream);
        attn_1 = new AttnBlock(channels, groups, init);
        block_2 = new ResnetBlock(channels, channels, tembChannels, dropout, groups, init, stream);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var h1 = block_1.call(x, temb);
        using var h2 = attn_1.call(h1);
        return block_2.call(h2, temb);
    }
}
