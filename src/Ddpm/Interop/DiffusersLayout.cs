using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Schedules;

namespace Ddpm.Interop;

/// <summary>
/// Hugging Face diffusers' <c>UNet2DModel</c> layout: <c>config.json</c> (the constructor's arguments),
/// <c>diffusion_pytorch_model.safetensors</c> or <c>.bin</c>, and a <c>DDPMScheduler</c>'s <c>scheduler_config.json</c>,
/// either side by side or as a pipeline folder with <c>unet/</c> and <c>scheduler/</c>. Ddpm's U-Net is the paper's; a
/// config is accepted when diffusers builds that network from it, and anything else is refused with the argument named.
/// diffusers' class defaults are not the paper's (freq_shift 0, flip_sin_to_cos true, downsample_padding 1, norm_eps
/// 1e-5, attention_head_dim 8), so a missing argument means the class default, never the paper's value.
/// </summary>
public static partial class DiffusersLayout
{
    /// <summary>The weights file names diffusers writes, preferred first.</summary>
    public static IReadOnlyList<string> WeightsFiles { get; } = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"];

    /// <summary>The model's configuration file.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The scheduler's configuration file.</summary>
    public const string SchedulerFile = "scheduler_config.json";

    /// <summary>The U-Net folder of a diffusers folder: the folder itself when it holds the weights, else its <c>unet/</c>; null when neither does.</summary>
    public static string? FindUNetFolder(string directory)
    {
        foreach (var candidate in new[] { directory, Path.Combine(directory, "unet") })
        {
            if (File.Exists(Path.Combine(candidate, ConfigFile)) && WeightsFiles.Any(f => File.Exists(Path.Combine(candidate, f)))) return candidate;
        }
        return null;
    }

    /// <summary>The scheduler config beside the U-Net (flat layout) or in the pipeline's <c>scheduler/</c> folder, or null.</summary>
    public static string? FindSchedulerConfig(string unetFolder)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(unetFolder).TrimEnd(Path.DirectorySeparatorChar)) ?? unetFolder;
        return new[]
        {
            Path.Combine(unetFolder, SchedulerFile),
            Path.Combine(unetFolder, "scheduler", SchedulerFile),
            Path.Combine(parent, "scheduler", SchedulerFile),
        }.FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// The Ddpm U-Net that diffusers builds from <paramref name="config"/> (a <c>UNet2DModel</c> config.json). The image
    /// size is <paramref name="imageSize"/> when given, else <c>sample_size</c>. Throws <see cref="NotSupportedException"/>
    /// naming the first argument Ddpm's U-Net cannot represent.
    /// </summary>
    public static UNetConfig ReadUNetConfig(JsonObject config, int? imageSize = null)
    {
        var reader = new ConfigReader(config, "UNet2DModel");
        reader.Require("_class_name", "UNet2DModel", "UNet2DModel");
        reader.Require("time_embedding_type", "positional", "positional");
        reader.Require("act_fn", "silu", "silu");
        reader.Require("resnet_time_scale_shift", "default", "default");
        reader.Require("downsample_type", "conv", "conv");
        reader.Require("upsample_type", "conv", "conv");
        reader.Require("mid_block_type", "UNetMidBlock2D", "UNetMidBlock2D");
        reader.Require("center_input_sample", false, false);
        reader.Require("add_attention", true, true);
        reader.Require("class_embed_type", null, null);
        // The paper's sinusoids: exp(−log(10000)·i/(half − 1)), sin before cos, which diffusers writes as freq_shift 1, no flip.
        reader.Require("freq_shift", 1L, 0L);
        reader.Require("flip_sin_to_cos", false, true);
        // The paper's down-sampling pads right and bottom by one ("SAME"), which is diffusers' downsample_padding 0.
        reader.Require("downsample_padding", 0L, 1L);
        reader.Require("mid_block_scale_factor", 1.0, 1.0);
        reader.Require("norm_eps", Norm.Epsilon, 1e-5);

        var widths = reader.Ints("block_out_channels", [224, 448, 672, 896]);
        var down = reader.Strings("down_block_types", ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"]);
        var up = reader.Strings("up_block_types", ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"]);
        if (widths.Count == 0 || down.Count != widths.Count || up.Count != widths.Count)
            throw reader.Unsupported("block_out_channels", $"{widths.Count} widths with {down.Count} down and {up.Count} up blocks", "they must have one entry per level");
        var baseChannels = widths[0];
        if (widths.Any(w => w % baseChannels != 0))
            throw reader.Unsupported("block_out_channels", string.Join(",", widths), "Ddpm's widths are multiples of the first");
        var timeDim = reader.NullableLong("time_embedding_dim", null);
        if (timeDim is not null && timeDim != 4L * baseChannels)
            throw reader.Unsupported("time_embedding_dim", timeDim.Value.ToString(CultureInfo.InvariantCulture), "Ddpm's is 4 × block_out_channels[0]");

        var size = imageSize ?? reader.SampleSize();
        var attention = new List<int>();
        for (var level = 0; level < widths.Count; level++)
        {
            var attends = down[level] switch
            {
                "DownBlock2D" => false,
                "AttnDownBlock2D" => true,
                _ => throw reader.Unsupported("down_block_types", down[level], "Ddpm has DownBlock2D and AttnDownBlock2D"),
            };
            var mirror = up[widths.Count - 1 - level];
            var upAttends = mirror switch
            {
                "UpBlock2D" => false,
                "AttnUpBlock2D" => true,
                _ => throw reader.Unsupported("up_block_types", mirror, "Ddpm has UpBlock2D and AttnUpBlock2D"),
            };
            if (attends != upAttends)
                throw reader.Unsupported("up_block_types", mirror, $"Ddpm attends on the way up where it does on the way down ({down[level]} at level {level})");
            if (attends) attention.Add(size >> level);
        }

        var groups = (int)reader.Long("norm_num_groups", 32);
        var attnGroups = reader.NullableLong("attn_norm_num_groups", null);
        if (attnGroups is not null && attnGroups != groups)
            throw reader.Unsupported("attn_norm_num_groups", attnGroups.Value.ToString(CultureInfo.InvariantCulture), "Ddpm's attention uses norm_num_groups");
        // One head over all channels, as the paper: attention_head_dim null (head size = channels) or equal to the
        // channels of every level that attends and of the middle.
        var headDim = reader.NullableLong("attention_head_dim", 8);
        if (headDim is not null)
        {
            var attended = Enumerable.Range(0, widths.Count).Where(l => down[l] == "AttnDownBlock2D").Select(l => widths[l]).Append(widths[^1]);
            if (attended.Any(c => c != headDim))
                throw reader.Unsupported("attention_head_dim", headDim.Value.ToString(CultureInfo.InvariantCulture), "Ddpm's attention has one head over all channels (null)");
        }
        // A class embedding's last row is the null class of classifier-free guidance, as Ddpm and DiT keep it.
        var classEmbeddings = reader.NullableLong("num_class_embeds", null);
        if (classEmbeddings is < 2)
            throw reader.Unsupported("num_class_embeds", classEmbeddings.Value.ToString(CultureInfo.InvariantCulture), "Ddpm needs at least one class and the null class");
        var conditionChannels = (int)(reader.NullableLong(ConditionChannelsKey, 0) ?? 0);
        var result = new UNetConfig
        {
            NumClasses = classEmbeddings is { } n ? (int)n - 1 : 0,
            ConditionChannels = conditionChannels,
            ImageSize = size,
            InChannels = (int)reader.Long("in_channels", 3) - conditionChannels,
            OutChannels = (int)reader.Long("out_channels", 3),
            BaseChannels = baseChannels,
            ChannelMultipliers = widths.Select(w => w / baseChannels).ToArray(),
            NumResBlocks = (int)reader.Long("layers_per_block", 2),
            AttentionResolutions = attention,
            Dropout = reader.Double("dropout", 0.0),
            NormGroups = groups,
        };
        try
        {
            return result.Validate();
        }
        catch (ArgumentException e)
        {
            throw new NotSupportedException($"UNet2DModel config: {e.Message}", e);
        }
    }

    /// <summary>
    /// The diffusion process of a <c>DDPMScheduler</c> config (class defaults where an argument is missing), and
    /// whether it clips x̂_0 (<c>clip_sample</c>, a sampler setting in Ddpm).
    /// </summary>
    public static (DiffusionConfig Diffusion, bool ClipSample) ReadSchedulerConfig(JsonObject config)
    {
        var reader = new ConfigReader(config, "DDPMScheduler");
        reader.Require("trained_betas", null, null);
        reader.Require("thresholding", false, false);
        reader.Require("clip_sample_range", 1.0, 1.0);
        var kind = reader.String("beta_schedule", "linear") switch
        {
            "linear" => BetaScheduleKind.Linear,
            "squaredcos_cap_v2" => BetaScheduleKind.Cosine,
            var other => throw reader.Unsupported("beta_schedule", other, "Ddpm reads linear and squaredcos_cap_v2"),
        };
        var variance = reader.String("variance_type", "fixed_small") switch
        {
            "fixed_small" => ModelVarianceType.FixedSmall,
            "fixed_large" => ModelVarianceType.FixedLarge,
            "learned" => ModelVarianceType.Learned,
            "learned_range" => ModelVarianceType.LearnedRange,
            var other => throw reader.Unsupported("variance_type", other, "Ddpm has fixed_small, fixed_large, learned and learned_range"),
        };
        var mean = reader.String("prediction_type", "epsilon") switch
        {
            "epsilon" => ModelMeanType.Epsilon,
            "sample" => ModelMeanType.StartX,
            "v_prediction" => ModelMeanType.Velocity,
            var other => throw reader.Unsupported("prediction_type", other, "Ddpm has epsilon, sample and v_prediction"),
        };
        var diffusion = new DiffusionConfig
        {
            Schedule = new ScheduleConfig
            {
                Kind = kind,
                Timesteps = (int)reader.Long("num_train_timesteps", 1000),
                BetaStart = reader.Double("beta_start", 1e-4),
                BetaEnd = reader.Double("beta_end", 0.02),
            },
            MeanType = mean,
            VarianceType = variance,
        };
        return (diffusion.Validate(), reader.Bool("clip_sample", true));
    }

    /// <summary>The <c>UNet2DModel</c> config.json that builds <paramref name="config"/>, every argument written out.</summary>
    public static JsonObject WriteUNetConfig(UNetConfig config)
    {
        var levels = config.ChannelMultipliers.Count;
        var attends = Enumerable.Range(0, levels).Select(l => config.AttentionResolutions.Contains(config.ImageSize >> l)).ToArray();
        var json = new JsonObject
        {
            ["_class_name"] = "UNet2DModel",
            ["sample_size"] = config.ImageSize,
            ["in_channels"] = config.InChannels + config.ConditionChannels,
            ["out_channels"] = config.OutChannels,
            ["center_input_sample"] = false,
            ["time_embedding_type"] = "positional",
            ["time_embedding_dim"] = null,
            ["freq_shift"] = 1,
            ["flip_sin_to_cos"] = false,
            ["down_block_types"] = Array(attends.Select(a => a ? "AttnDownBlock2D" : "DownBlock2D")),
            ["mid_block_type"] = "UNetMidBlock2D",
            ["up_block_types"] = Array(attends.Reverse().Select(a => a ? "AttnUpBlock2D" : "UpBlock2D")),
            ["block_out_channels"] = new JsonArray(config.ChannelMultipliers.Select(m => (JsonNode?)(config.BaseChannels * m)).ToArray()),
            ["layers_per_block"] = config.NumResBlocks,
            ["mid_block_scale_factor"] = 1,
            ["downsample_padding"] = 0,
            ["downsample_type"] = "conv",
            ["upsample_type"] = "conv",
            ["dropout"] = config.Dropout,
            ["act_fn"] = "silu",
            ["attention_head_dim"] = null,
            ["norm_num_groups"] = config.NormGroups,
            ["attn_norm_num_groups"] = null,
            ["norm_eps"] = Norm.Epsilon,
            ["resnet_time_scale_shift"] = "default",
            ["add_attention"] = true,
            ["class_embed_type"] = null,
            ["num_class_embeds"] = config.NumClasses > 0 ? config.NumClasses + 1 : null,
        };
        // diffusers concatenates a conditioning image to the sample itself (in_channels counts both); the key tells a
        // Ddpm import how many of the input channels it takes. diffusers ignores keys it does not know.
        if (config.ConditionChannels > 0) json[ConditionChannelsKey] = config.ConditionChannels;
        return json;
    }

    /// <summary>The config.json key under which an export records the input channels a conditioning image takes.</summary>
    public const string ConditionChannelsKey = "ddpm_condition_channels";

    /// <summary>The config.json key under which an export records its conditioning (class names, task, scale).</summary>
    public const string ConditioningKey = "ddpm_conditioning";

    /// <summary>The <c>DDPMScheduler</c> scheduler_config.json of <paramref name="diffusion"/>.</summary>
    public static JsonObject WriteSchedulerConfig(DiffusionConfig diffusion, bool clipSample = true)
    {
        var schedule = diffusion.Schedule;
        return new JsonObject
        {
            ["_class_name"] = "DDPMScheduler",
            ["num_train_timesteps"] = schedule.Timesteps,
            ["beta_start"] = schedule.BetaStart,
            ["beta_end"] = schedule.BetaEnd,
            ["beta_schedule"] = schedule.Kind switch
            {
                BetaScheduleKind.Linear => "linear",
                BetaScheduleKind.Cosine => "squaredcos_cap_v2",
                var other => throw new NotSupportedException($"diffusers' DDPMScheduler has no {other} schedule that matches Ddpm's."),
            },
            ["trained_betas"] = null,
            ["variance_type"] = diffusion.VarianceType switch
            {
                ModelVarianceType.FixedLarge => "fixed_large",
                ModelVarianceType.Learned => "learned",
                ModelVarianceType.LearnedRange => "learned_range",
                _ => "fixed_small",
            },
            ["clip_sample"] = clipSample,
            ["prediction_type"] = diffusion.MeanType switch
            {
                ModelMeanType.Epsilon => "epsilon",
                ModelMeanType.StartX => "sample",
                ModelMeanType.Velocity => "v_prediction",
                var other => throw new NotSupportedException($"diffusers' schedulers have no prediction type for a model that predicts {ObjectiveNames.Of(other)}."),
            },
        };
    }

    private static JsonArray Array(IEnumerable<string> items) => new(items.Select(s => (JsonNode?)s).ToArray());

    /// <summary>
    /// The diffusers key of a Ddpm state-dict key in a U-Net with <paramref name="levels"/> levels, or null for a key
    /// diffusers does not have. Attention projections keep their names' new form (<c>to_q</c>, …, <c>to_out.0</c>).
    /// </summary>
    public static string? ToDiffusersKey(string key, int levels)
    {
        var m = LevelKey().Match(key);
        if (m.Success)
        {
            var isDown = m.Groups["path"].Value == "down";
            var level = int.Parse(m.Groups["level"].Value, CultureInfo.InvariantCulture);
            var blocks = isDown ? $"down_blocks.{level}" : $"up_blocks.{levels - 1 - level}";
            var rest = m.Groups["rest"].Value;
            return m.Groups["kind"].Value switch
            {
                "block" => $"{blocks}.resnets.{m.Groups["index"].Value}.{Resnet(rest)}",
                "attn" => $"{blocks}.attentions.{m.Groups["index"].Value}.{Attention(rest)}",
                _ => $"{blocks}.{(isDown ? "downsamplers" : "upsamplers")}.0.{rest}",
            };
        }
        if (key.StartsWith("mid.block_1.", StringComparison.Ordinal)) return "mid_block.resnets.0." + Resnet(key["mid.block_1.".Length..]);
        if (key.StartsWith("mid.block_2.", StringComparison.Ordinal)) return "mid_block.resnets.1." + Resnet(key["mid.block_2.".Length..]);
        if (key.StartsWith("mid.attn_1.", StringComparison.Ordinal)) return "mid_block.attentions.0." + Attention(key["mid.attn_1.".Length..]);
        if (key.StartsWith("temb.dense.0.", StringComparison.Ordinal)) return "time_embedding.linear_1." + key["temb.dense.0.".Length..];
        if (key.StartsWith("temb.dense.1.", StringComparison.Ordinal)) return "time_embedding.linear_2." + key["temb.dense.1.".Length..];
        if (key.StartsWith("norm_out.", StringComparison.Ordinal)) return "conv_norm_out." + key["norm_out.".Length..];
        if (key.StartsWith("conv_in.", StringComparison.Ordinal) || key.StartsWith("conv_out.", StringComparison.Ordinal)) return key;
        if (key.StartsWith(UNet.LabelEmbeddingKey + ".", StringComparison.Ordinal)) return "class_embedding." + key[(UNet.LabelEmbeddingKey.Length + 1)..];
        return null;
    }

    /// <summary>A diffusers key with the attention names of diffusers before 0.15 (<c>query</c>, <c>key</c>, <c>value</c>, <c>proj_attn</c>) renamed to today's.</summary>
    public static string NormaliseAttentionNames(string key) => OldAttention().Replace(key, m => m.Groups[1].Value + m.Groups[2].Value switch
    {
        "query" => "to_q",
        "key" => "to_k",
        "value" => "to_v",
        _ => "to_out.0",
    } + ".");

    /// <summary>Whether a Ddpm key is an attention projection, stored by Ddpm as a 1×1 convolution and by diffusers as a linear layer.</summary>
    public static bool IsAttentionProjectionWeight(string key) => AttentionProjection().IsMatch(key);

    private static string Resnet(string rest) => rest.Split('.', 2) switch
    {
        ["temb_proj", var p] => "time_emb_proj." + p,
        ["nin_shortcut", var p] => "conv_shortcut." + p,
        _ => rest,
    };

    private static string Attention(string rest) => rest.Split('.', 2) switch
    {
        ["norm", var p] => "group_norm." + p,
        ["q", var p] => "to_q." + p,
        ["k", var p] => "to_k." + p,
        ["v", var p] => "to_v." + p,
        ["proj_out", var p] => "to_out.0." + p,
        _ => rest,
    };

    [GeneratedRegex(@"^(?<path>down|up)\.(?<level>\d+)\.(?:(?<kind>block|attn)\.(?<index>\d+)|(?<kind>downsample|upsample))\.(?<rest>.+)$")]
    private static partial Regex LevelKey();

    [GeneratedRegex(@"(attentions\.\d+\.)(query|key|value|proj_attn)\.")]
    private static partial Regex OldAttention();

    [GeneratedRegex(@"(^|\.)(attn\.\d+|attn_1)\.(q|k|v|proj_out)\.weight$")]
    private static partial Regex AttentionProjection();

    /// <summary>Reads a diffusers config with the class's defaults for missing arguments and one-line refusals.</summary>
    private sealed class ConfigReader(JsonObject source, string className)
    {
        // Re-parsed so that every number is a JSON element (readable as long or double), also for built objects.
        private readonly JsonObject config = JsonNode.Parse(source.ToJsonString())!.AsObject();

        public NotSupportedException Unsupported(string name, string value, string why) =>
            new($"{className} config: {name} = {value} is not supported ({why}).");

        private JsonNode? Get(string name, out bool present)
        {
            present = config.TryGetPropertyValue(name, out var node);
            return node;
        }

        public void Require(string name, object? expected, object? classDefault)
        {
            var node = Get(name, out var present);
            var value = present ? node is null ? null : Value(node) : classDefault;
            if (!present && expected is null && classDefault is null) return;
            if (!Same(value, expected))
                throw Unsupported(name, Text(value) + (present ? "" : " (the class default)"), $"Ddpm needs {Text(expected)}");
        }

        private static bool Same(object? a, object? b) => (a, b) switch
        {
            (null, null) => true,
            (null, _) or (_, null) => false,
            (long x, double y) => x == y,
            (double x, long y) => x == y,
            (double x, double y) => Math.Abs(x - y) <= 1e-9 * Math.Abs(y),
            _ => a.Equals(b),
        };

        private static string Text(object? value) => value switch
        {
            null => "null",
            bool b => b ? "true" : "false",
            double d => d.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant(),
            _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        };

        private static object? Value(JsonNode node) => node.GetValueKind() switch
        {
            JsonValueKind.String => node.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => node.GetValue<JsonElement>().TryGetInt64(out var l) ? l : node.GetValue<double>(),
            JsonValueKind.Null => null,
            _ => node.ToJsonString(),
        };

        public double Double(string name, double classDefault) => Get(name, out var present) is { } node && present ? node.GetValue<double>() : classDefault;

        public long Long(string name, long classDefault) => NullableLong(name, classDefault) ?? throw Unsupported(name, "null", "a number is needed");

        public long? NullableLong(string name, long? classDefault)
        {
            var node = Get(name, out var present);
            if (!present) return classDefault;
            return node is null ? null : node.GetValue<long>();
        }

        public bool Bool(string name, bool classDefault) => Get(name, out var present) is { } node && present ? node.GetValue<bool>() : classDefault;

        public string String(string name, string classDefault) => Get(name, out var present) is { } node && present ? node.GetValue<string>() : classDefault;

        public IReadOnlyList<int> Ints(string name, int[] classDefault) =>
            Get(name, out var present) is JsonArray array && present ? array.Select(n => n!.GetValue<int>()).ToArray() : classDefault;

        public IReadOnlyList<string> Strings(string name, string[] classDefault) =>
            Get(name, out var present) is JsonArray array && present ? array.Select(n => n!.GetValue<string>()).ToArray() : classDefault;

        public int SampleSize()
        {
            var node = Get("sample_size", out _);
            return node switch
            {
                JsonArray { Count: 2 } pair when pair[0]!.GetValue<int>() == pair[1]!.GetValue<int>() => pair[0]!.GetValue<int>(),
                JsonArray pair => throw Unsupported("sample_size", pair.ToJsonString(), "Ddpm's images are square"),
                JsonValue value => value.GetValue<int>(),
                _ => throw Unsupported("sample_size", "null", "give the image size as an option"),
            };
        }
    }
}
