using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Diffusion;
using Ddpm.Imaging;
using Ddpm.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Ddpm.Interop;

/// <summary>The layouts Ddpm reads and writes weights in.</summary>
public enum WeightsLayout
{
    /// <summary>Ddpm's own run or checkpoint folder (config.json with ema.safetensors and/or model.safetensors).</summary>
    Ddpm,

    /// <summary>A diffusers <c>UNet2DModel</c> folder (see <see cref="DiffusersLayout"/>).</summary>
    Diffusers,

    /// <summary>A pesser/pytorch_diffusion <c>.ckpt</c> file (see <see cref="PesserLayout"/>).</summary>
    Pesser,
}

/// <summary>What an imported model cannot say about itself.</summary>
public sealed record ImportOptions
{
    /// <summary>
    /// Image size. For a <c>.ckpt</c> (which does not record it) default <see cref="PesserLayout.DefaultImageSize"/>;
    /// for a diffusers folder it replaces <c>sample_size</c> when given.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>GroupNorm groups of a <c>.ckpt</c>'s network (not in the weights). The official port's: 32.</summary>
    public int PesserNormGroups { get; init; } = PesserLayout.NormGroups;
}

/// <summary>A network built and loaded from another layout, with the configuration read from or inferred for it.</summary>
public sealed record ImportedModel(WeightsLayout Layout, RunConfig Config, UNet Network, string Source, bool ClipSample);

/// <summary>
/// The one place that tells weight layouts apart and converts between them. <see cref="DiffusionModel.Load"/> and so
/// every <c>--checkpoint</c> go through <see cref="Detect"/>; <c>ddpm export --format</c> through <see cref="Export"/>.
/// </summary>
public static class ModelFormats
{
    /// <summary>
    /// The layout of <paramref name="path"/>, judged by its contents: a zip-format torch pickle file is a
    /// <see cref="WeightsLayout.Pesser"/> checkpoint; a folder with a diffusers config and weights (itself or its
    /// <c>unet/</c>) is <see cref="WeightsLayout.Diffusers"/>; anything else is left to Ddpm's own loader.
    /// </summary>
    public static WeightsLayout Detect(string path)
    {
        if (File.Exists(path)) return TorchPickle.IsZipArchive(path) ? WeightsLayout.Pesser : WeightsLayout.Ddpm;
        if (Directory.Exists(path) && !CheckpointStore.IsCheckpoint(path) && DiffusersLayout.FindUNetFolder(path) is not null) return WeightsLayout.Diffusers;
        return WeightsLayout.Ddpm;
    }

    /// <summary>Builds and loads the network of a diffusers folder or a <c>.ckpt</c> file (not of Ddpm's own folders).</summary>
    public static ImportedModel Import(string path, ImportOptions? options = null)
    {
        options ??= new ImportOptions();
        return Detect(path) switch
        {
            WeightsLayout.Diffusers => ImportDiffusers(path, options),
            WeightsLayout.Pesser => ImportPesser(path, options),
            _ => throw new ArgumentException($"{path}: a Ddpm folder, not a diffusers folder or .ckpt file."),
        };
    }

    /// <summary>
    /// Writes <paramref name="network"/>'s weights and <paramref name="config"/> in <paramref name="layout"/>: a diffusers
    /// folder (config.json, scheduler_config.json, diffusion_pytorch_model.safetensors) or Ddpm folder (config.json,
    /// ema.safetensors) at <paramref name="target"/>, or a <c>.ckpt</c> file at <paramref name="target"/> for the
    /// official port. Returns the path written.
    /// </summary>
    public static string Export(UNet network, RunConfig config, WeightsLayout layout, string target)
    {
        using var scope = NewDisposeScope();
        var own = OwnStateDict(network);
        switch (layout)
        {
            case WeightsLayout.Pesser:
            {
                if (config.Model.NumClasses > 0 || config.Model.ConditionChannels > 0)
                    throw new NotSupportedException("the official model's layout has no class embedding or conditioning image: export a conditional model as ddpm or diffusers.");
                var file = Directory.Exists(target) || !Path.HasExtension(target) ? Path.Combine(target, "model.ckpt") : target;
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
                TorchPickle.Save(own, file);
                return file;
            }
            case WeightsLayout.Diffusers:
            {
                Directory.CreateDirectory(target);
                var levels = config.Model.ChannelMultipliers.Count;
                var converted = new Dictionary<string, Tensor>();
                foreach (var (key, tensor) in own)
                {
                    var name = DiffusersLayout.ToDiffusersKey(key, levels) ?? throw new InvalidOperationException($"no diffusers name for '{key}'.");
                    converted[name] = DiffusersLayout.IsAttentionProjectionWeight(key) ? tensor.flatten(1) : tensor;
                }
                var unet = DiffusersLayout.WriteUNetConfig(config.Model);
                if (config.Model.NumClasses > 0 || config.Model.ConditionChannels > 0)
                    unet[DiffusersLayout.ConditioningKey] = JsonNode.Parse(ConfigJson.Serialize(config.Conditioning));
                WriteJson(unet, Path.Combine(target, DiffusersLayout.ConfigFile));
                WriteJson(DiffusersLayout.WriteSchedulerConfig(config.Diffusion), Path.Combine(target, DiffusersLayout.SchedulerFile));
                Safetensors.SaveStateDict(Path.Combine(target, DiffusersLayout.WeightsFiles[0]), converted.ToDictionary(p => p.Key, p => p.Value.contiguous()));
                return target;
            }
            default:
            {
                Directory.CreateDirectory(target);
                ConfigJson.Save(config, Path.Combine(target, CheckpointFiles.Config));
                // Ddpm's own layout is whatever the network's state dict holds.
                Safetensors.SaveStateDict(Path.Combine(target, CheckpointFiles.Ema), network.state_dict());
                return target;
            }
        }
    }

    /// <summary>
    /// The keys and tensors of <paramref name="network"/> that the official port has (Ddpm's state dict without the
    /// timestep embedding's frequency table, which other layouts compute rather than store).
    /// </summary>
    public static Dictionary<string, Tensor> OwnStateDict(UNet network) =>
        network.state_dict().Where(p => !IsComputedKey(p.Key)).ToDictionary(p => p.Key, p => p.Value);

    /// <summary>
    /// Copies <paramref name="weights"/> (Ddpm keys) into <paramref name="network"/>: every tensor must be there with its
    /// shape, and every key used. Throws <see cref="InvalidDataException"/> naming the first mismatch.
    /// </summary>
    public static void LoadInto(UNet network, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var target = network.state_dict();
        var missing = target.Keys.Where(k => !weights.ContainsKey(k) && !IsComputedKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{source}: missing {missing.Count} tensors, first '{missing[0]}'.");
        var unexpected = weights.Keys.Where(k => !target.ContainsKey(k)).ToList();
        if (unexpected.Count > 0) throw new InvalidDataException($"{source}: {unexpected.Count} tensors the U-Net does not have, first '{unexpected[0]}'.");
        using var noGrad = no_grad();
        foreach (var (key, tensor) in weights)
        {
            var destination = target[key];
            if (!destination.shape.SequenceEqual(tensor.shape))
                throw new InvalidDataException($"{source}: '{key}' has shape [{string.Join(", ", tensor.shape)}], the U-Net's is [{string.Join(", ", destination.shape)}].");
            destination.copy_(tensor);
        }
    }

    // The timestep embedding's frequency table, if the network keeps one, is computed from the width: not a weight.
    private static bool IsComputedKey(string key) => key.StartsWith("temb.", StringComparison.Ordinal) && !key.StartsWith("temb.dense.", StringComparison.Ordinal);

    private static ImportedModel ImportDiffusers(string path, ImportOptions options)
    {
        var folder = DiffusersLayout.FindUNetFolder(path)!;
        var unetJson = ReadJson(Path.Combine(folder, DiffusersLayout.ConfigFile));
        var unetConfig = DiffusersLayout.ReadUNetConfig(unetJson, options.ImageSize);
        // A Ddpm export records its conditioning; other class-conditional models get their classes' numbers as names.
        var conditioning = unetJson[DiffusersLayout.ConditioningKey] is { } saved
            ? JsonSerializer.Deserialize<ConditioningConfig>(saved.ToJsonString(), ConfigJson.Options) ?? new ConditioningConfig()
            : new ConditioningConfig { ClassNames = [.. Enumerable.Range(0, unetConfig.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture))] };
        var schedulerPath = DiffusersLayout.FindSchedulerConfig(folder);
        var (diffusion, clip) = schedulerPath is null ? (new DiffusionConfig(), true) : DiffusersLayout.ReadSchedulerConfig(ReadJson(schedulerPath));
        var weightsPath = DiffusersLayout.WeightsFiles.Select(f => Path.Combine(folder, f)).First(File.Exists);
        var raw = weightsPath.EndsWith(".safetensors", StringComparison.Ordinal) ? Safetensors.LoadStateDict(weightsPath) : TorchPickle.Load(weightsPath);
        var network = new UNet(unetConfig);
        try
        {
            using var scope = NewDisposeScope();
            var levels = unetConfig.ChannelMultipliers.Count;
            var byDiffusersName = new Dictionary<string, string>();
            foreach (var key in network.state_dict().Keys)
            {
                if (DiffusersLayout.ToDiffusersKey(key, levels) is { } name) byDiffusersName[name] = key;
            }
            var converted = new Dictionary<string, Tensor>();
            foreach (var (name, tensor) in raw)
            {
                var modern = DiffusersLayout.NormaliseAttentionNames(name);
                if (!byDiffusersName.TryGetValue(modern, out var key))
                    throw new InvalidDataException($"{weightsPath}: '{name}' has no place in the U-Net the config describes.");
                converted[key] = DiffusersLayout.IsAttentionProjectionWeight(key) && tensor.dim() == 2 ? tensor.view(tensor.shape[0], tensor.shape[1], 1, 1) : tensor;
            }
            LoadInto(network, converted, weightsPath);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
        var run = new RunConfig { Model = unetConfig, Diffusion = diffusion, Data = new DataConfig { Dataset = "unknown" }, Conditioning = conditioning };
        return new ImportedModel(WeightsLayout.Diffusers, run, network, Path.GetFullPath(folder), clip);
    }

    private static ImportedModel ImportPesser(string path, ImportOptions options)
    {
        var weights = TorchPickle.Load(path);
        try
        {
            var unetConfig = PesserLayout.InferUNetConfig(weights, options.ImageSize, options.PesserNormGroups);
            var network = new UNet(unetConfig);
            try
            {
                LoadInto(network, weights, path);
            }
            catch
            {
                network.Dispose();
                throw;
            }
            // The port's runner samples the paper's process: linear β from 1e-4 to 0.02 over 1000 steps, fixed-large σ².
            var run = new RunConfig { Model = unetConfig, Diffusion = new DiffusionConfig(), Data = new DataConfig { Dataset = "unknown" } };
            return new ImportedModel(WeightsLayout.Pesser, run, network, Path.GetFullPath(path), ClipSample: true);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private static JsonObject ReadJson(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message.Split('\n')[0]}).", e);
        }
    }

    private static void WriteJson(JsonObject json, string path) =>
        AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"));
}
