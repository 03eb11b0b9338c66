using System.CommandLine;
using Ddpm.Checkpoints;
using Ddpm.Imaging;
using Ddpm.Interop;

namespace Ddpm.Cli.Commands;

/// <summary>
/// <c>ddpm export</c>: a checkpoint's EMA weights and configuration as a small folder to publish, in Ddpm's own layout,
/// as a diffusers <c>UNet2DModel</c> folder or as an official-port (pesser/pytorch_diffusion) <c>.ckpt</c>.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder (its latest checkpoint), a checkpoint folder, a diffusers folder or a .ckpt file" };
        var output = new Option<string>("--out") { Description = "Folder to write into (for --format pesser: the .ckpt file, or a folder to write model.ckpt into)", Required = true };
        var format = new Option<string>("--format") { Description = "ddpm (config.json, ema.safetensors, state.json), diffusers (config.json, scheduler_config.json, diffusion_pytorch_model.safetensors) or pesser (.ckpt)", DefaultValueFactory = _ => "ddpm" }.OneOf("ddpm", "diffusers", "pesser");
        var imageSize = new Option<int?>("--image-size") { Description = "Image size of a .ckpt source, which does not record it" }.PositiveOrNull();
        var command = new Command("export", "Copy a checkpoint's EMA weights and configuration for publishing (no optimizer state), in Ddpm's, diffusers' or the official port's layout.")
        {
            checkpoint, output, format, imageSize,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var source = parse.GetValue(checkpoint)!;
            var target = parse.GetValue(output)!;
            var layout = parse.GetValue(format) switch
            {
                "diffusers" => WeightsLayout.Diffusers,
                "pesser" => WeightsLayout.Pesser,
                _ => WeightsLayout.Ddpm,
            };
            if (layout == WeightsLayout.Ddpm && ModelFormats.Detect(source) == WeightsLayout.Ddpm)
            {
                CopyOwnFolder(CheckpointStore.Resolve(source), target);
                return CliErrors.Ok;
            }
            if (layout != WeightsLayout.Pesser || !target.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) OutputPaths.EnsureWritableDirectory(target);
            else OutputPaths.EnsureWritableFile(target);
            using var model = DiffusionModel.Load(source, import: new ImportOptions { ImageSize = parse.GetValue(imageSize) });
            var written = ModelFormats.Export(model.Network, model.Config, layout, target);
            Console.WriteLine($"Exported {model.CheckpointDirectory} ({(model.UsesEma ? "EMA" : "raw")} weights) to {Path.GetFullPath(written)} as {parse.GetValue(format)}");
            return CliErrors.Ok;
        }));
        return command;
    }

    private static void CopyOwnFolder(string source, string target)
    {
        OutputPaths.EnsureWritableDirectory(target);
        var ema = Path.Combine(source, CheckpointFiles.Ema);
        if (!File.Exists(ema)) throw new FileNotFoundException($"{ema}: this checkpoint has no EMA weights to export.");
        foreach (var file in new[] { CheckpointFiles.Config, CheckpointFiles.Ema })
            AtomicFile.WriteAllBytes(Path.Combine(target, file), File.ReadAllBytes(Path.Combine(source, file)));
        var statePath = Path.Combine(source, CheckpointFiles.State);
        if (File.Exists(statePath))
        {
            // Step, images and time describe the weights; generator states only matter for resuming, which needs the full checkpoint.
            var state = ConfigJson.Load<TrainingState>(statePath) with { TrainGeneratorState = "", DropoutSeed = 0, DropoutPosition = 0 };
            ConfigJson.Save(state, Path.Combine(target, CheckpointFiles.State));
        }
        Console.WriteLine($"Exported {source} to {Path.GetFullPath(target)}");
    }
}
