using System.CommandLine;
using System.Globalization;
using Ddpm.Checkpoints;
using Spectre.Console;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm info CHECKPOINT</c>: what a checkpoint holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A run folder (its latest checkpoint) or a checkpoint folder" };
        var json = new Option<bool>("--json") { Description = "Print the configuration as JSON only" };
        var device = CommonOptions.DeviceOption();
        var command = new Command("info", "Show a checkpoint's configuration, parameter count, step and data set.") { path, json, device };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            using var model = DiffusionModel.Load(parse.GetValue(path)!, device: CommonOptions.ParseDevice(parse.GetValue(device)!));
            var config = model.Config;
            if (parse.GetValue(json))
            {
                Console.WriteLine(ConfigJson.Serialize(config));
                return CliErrors.Ok;
            }
            var state = model.State;
            var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("").AddColumn("");
            void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("checkpoint", model.CheckpointDirectory);
            Row("weights", model.UsesEma ? "EMA" : "raw (no EMA weights in this checkpoint)");
            Row("preset", config.Preset ?? "custom");
            Row("parameters", model.Network.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
            var m = config.Model;
            Row("model", string.Create(CultureInfo.InvariantCulture,
                $"{m.InChannels}×{m.ImageSize}×{m.ImageSize}, ch {m.BaseChannels}, mult ({string.Join(", ", m.ChannelMultipliers)}), {m.NumResBlocks} res blocks, attention at {string.Join(", ", m.AttentionResolutions)}, dropout {m.Dropout}"));
            var d = config.Diffusion;
            Row("diffusion", string.Create(CultureInfo.InvariantCulture,
                $"{d.Schedule.Kind} β {d.Schedule.BetaStart}→{d.Schedule.BetaEnd}, T = {d.Schedule.Timesteps}, predicts {d.MeanType}, variance {d.VarianceType}"));
            if (m.NumClasses > 0)
            {
                Row("conditioning", string.Create(CultureInfo.InvariantCulture,
                    $"{m.NumClasses} classes ({string.Join(", ", config.Conditioning.ClassNames)}), label dropout {config.Conditioning.LabelDropout}"));
            }
            if (config.Conditioning.Task == Ddpm.Conditioning.ConditioningTask.SuperResolution)
                Row("conditioning", string.Create(CultureInfo.InvariantCulture, $"super-resolution ×{config.Conditioning.Scale} ({m.ImageSize / config.Conditioning.Scale}×{m.ImageSize / config.Conditioning.Scale} → {m.ImageSize}×{m.ImageSize})"));
            Row("data set", $"{config.Data.Dataset}{(config.Data.Path is null ? "" : " at " + config.Data.Path)}{(config.Data.Images > 0 ? $", {config.Data.Images:N0} images" : "")}");
            var t = config.Training;
            Row("training", string.Create(CultureInfo.InvariantCulture,
                $"{t.Steps:N0} steps, batch {t.BatchSize}×{t.GradientAccumulation}, Adam lr {t.LearningRate}, warm-up {t.WarmupSteps}, clip {t.GradientClip}, EMA {t.EmaDecay}{(t.EmaWarmup ? " with warm-up" : "")}, seed {t.Seed}, {t.Precision}"));
            foreach (var c in config.History)
            {
                Row("changed", string.Create(CultureInfo.InvariantCulture,
                    $"{c.Setting} {c.From ?? "default"} → {c.To} at step {c.Step:N0} ({c.Time.UtcDateTime:yyyy-MM-dd HH:mm} UTC)"));
            }
            if (state is not null)
            {
                Row("step", state.Step.ToString("N0", CultureInfo.InvariantCulture));
                Row("images seen", state.ImagesSeen.ToString("N0", CultureInfo.InvariantCulture));
                Row("training time", TimeSpan.FromSeconds(state.TrainSeconds).ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture));
                if (state.RecentLoss is { } loss) Row("recent loss", loss.ToString("F5", CultureInfo.InvariantCulture));
            }
            else
            {
                Row("step", "unknown (weights only)");
            }
            foreach (var file in Directory.GetFiles(model.CheckpointDirectory).OrderBy(f => f, StringComparer.Ordinal))
                Row("file", string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(file)} ({new FileInfo(file).Length / 1024.0 / 1024.0:F2} MiB)"));
            AnsiConsole.Write(table);
            return CliErrors.Ok;
        }));
        return command;
    }
}
