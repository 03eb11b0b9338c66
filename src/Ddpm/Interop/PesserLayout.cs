using System.Globalization;
using System.Text.RegularExpressions;
using Ddpm.Models;
using static TorchSharp.torch;

namespace Ddpm.Interop;

/// <summary>
/// The official model's PyTorch port (pesser/pytorch_diffusion, <c>Model</c> in model.py): a <c>torch.save</c>d state
/// dict whose keys are Ddpm's own (<c>temb.dense.0</c>, <c>down.0.block.0.conv1</c>, <c>mid.attn_1.q</c>, …). The file
/// does not record the architecture, so it is read from the tensors' names and shapes; the image size is not in the
/// weights at all and comes from the caller.
/// </summary>
public static partial class PesserLayout
{
    /// <summary>GroupNorm groups of the port (its <c>Normalize</c>): 32.</summary>
    public const int NormGroups = 32;

    /// <summary>The image size assumed when none is given: 32 for 3 channels (CIFAR-10), 28 for 1 (MNIST, Fashion-MNIST).</summary>
    public static int DefaultImageSize(int channels) => channels == 1 ? 28 : 32;

    /// <summary>
    /// The U-Net that has exactly <paramref name="weights"/>' tensors: base width from <c>conv_in</c>, levels and their
    /// widths from <c>down.L.block.0.conv1</c>, blocks per level, attention where <c>down.L.attn.*</c> exist. Throws
    /// <see cref="InvalidDataException"/> when the tensors do not describe that U-Net.
    /// </summary>
    public static UNetConfig InferUNetConfig(IReadOnlyDictionary<string, Tensor> weights, int? imageSize = null, int normGroups = NormGroups)
    {
        var convIn = Shape(weights, "conv_in.weight");
        var convOut = Shape(weights, "conv_out.weight");
        var ch = convIn[0];
        var levels = weights.Keys.Select(k => DownLevel().Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        if (levels == 0) throw new InvalidDataException("not an official-port U-Net: no down.N.block tensors.");
        var blocks = weights.Keys.Count(k => k.StartsWith("down.0.block.", StringComparison.Ordinal) && k.EndsWith(".conv1.weight", StringComparison.Ordinal));
        var multipliers = new int[levels];
        var size = imageSize ?? DefaultImageSize((int)convIn[1]);
        var attention = new List<int>();
        for (var level = 0; level < levels; level++)
        {
            var width = Shape(weights, $"down.{level}.block.0.conv1.weight")[0];
            if (width % ch != 0) throw new InvalidDataException($"not an official-port U-Net: level {level} has {width} channels, not a multiple of {ch}.");
            multipliers[level] = (int)(width / ch);
            if (weights.ContainsKey($"down.{level}.attn.0.q.weight")) attention.Add(size >> level);
        }
        var config = new UNetConfig
        {
            ImageSize = size,
            InChannels = (int)convIn[1],
            OutChannels = (int)convOut[0],
            BaseChannels = (int)ch,
            ChannelMultipliers = multipliers,
            NumResBlocks = blocks,
            AttentionResolutions = attention,
            NormGroups = normGroups,
        };
        try
        {
            return config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the checkpoint's U-Net cannot be built: {e.Message}", e);
        }
    }

    private static long[] Shape(IReadOnlyDictionary<string, Tensor> weights, string key) =>
        weights.TryGetValue(key, out var tensor) ? tensor.shape : throw new InvalidDataException($"not an official-port U-Net: no '{key}' tensor.");

    [GeneratedRegex(@"^down\.(\d+)\.block\.")]
    private static partial Regex DownLevel();
}
