using System.CommandLine;
using Ddpm.Checkpoints;
using Ddpm.Imaging;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm export</c>: a checkpoint's EMA weights and configuration as a small folder to publish.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder" };
        var output = new Option<string>("--out") { Description = "Folder to write config.json, ema.safetensors and state.json into", Required = true };
        var command = new Command("export", "Copy a checkpoint's EMA weights and configuration into a folder for publishing (no optimizer state).")
        {
            checkpoint, output,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var source = CheckpointStore.Resolve(parse.GetValue(checkpoint)!);
            var target = parse.GetValue(output)!;
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
            return CliErrors.Ok;
        }));
        return command;
    }
}
