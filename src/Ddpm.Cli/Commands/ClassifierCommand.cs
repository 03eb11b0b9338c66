using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ddpm.Data;
using Ddpm.Evaluation;
using Spectre.Console;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm classifier train</c>: trains the feature network that scores 28×28 grey samples.</summary>
internal static class ClassifierCommand
{
    public static Command Create()
    {
        var command = new Command("classifier", "The classifier whose features score 28×28 grey samples (FID, KID, precision/recall).");
        command.Subcommands.Add(CreateTrain());
        return command;
    }

    private static Command CreateTrain()
    {
        var defaults = new ClassifierTrainingOptions();
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist or mnist", DefaultValueFactory = _ => "fashion-mnist" }.OneOf("fashion-mnist", "mnist");
        var data = new Option<string?>("--data") { Description = "The data set's folder (default for fashion-mnist: the installed copy)" };
        var output = new Option<string>("--out") { Description = "Write model.safetensors and config.json here", Required = true };
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation, shuffling, flips and dropout", DefaultValueFactory = _ => defaults.Seed };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => defaults.Epochs }.Positive();
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => defaults.BatchSize }.Positive();
        var lr = new Option<double>("--lr") { Description = "Peak AdamW learning rate (cosine decay to 0)", DefaultValueFactory = _ => defaults.LearningRate }.Positive();
        var flip = new Option<bool>("--flip") { Description = "Mirror training images left-right at random" };
        var widths = new Option<int[]>("--widths") { Description = "Channels of each convolution stage", DefaultValueFactory = _ => [.. new ClassifierConfig().Widths], AllowMultipleArgumentsPerToken = true };
        var convs = new Option<int>("--convs-per-stage") { Description = "3x3 convolutions per stage", DefaultValueFactory = _ => new ClassifierConfig().ConvsPerStage }.Positive();
        var maxSteps = new Option<int?>("--max-steps") { Description = "Stop after this many steps (a short run)" }.PositiveOrNull();
        var device = CommonOptions.DeviceOption();
        var train = new Command("train", "Train a small CNN classifier on Fashion-MNIST or MNIST and save it as a feature extractor.")
        {
            dataset, data, output, seed, epochs, batchSize, lr, flip, widths, convs, maxSteps, device,
        };
        train.SetAction(parse => CliErrors.Run(() =>
        {
            var name = parse.GetValue(dataset)!;
            var kind = DatasetNames.Parse(name);
            var trainSet = Datasets.Open(kind, parse.GetValue(data), train: true);
            var testSet = Datasets.Open(kind, parse.GetValue(data), train: false);
            var config = new ClassifierConfig { Id = $"{name}-classifier", Widths = parse.GetValue(widths)!, ConvsPerStage = parse.GetValue(convs) };
            var options = new ClassifierTrainingOptions
            {
                Seed = parse.GetValue(seed),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                MaxSteps = parse.GetValue(maxSteps),
                HorizontalFlip = parse.GetValue(flip),
                Device = CommonOptions.ParseDevice(parse.GetValue(device)!),
            };
            var outDir = parse.GetValue(output)!;
            Console.Error.WriteLine($"Training the {config.Id} ({string.Join("-", config.Widths)} × {config.ConvsPerStage}, {config.FeatureDimension}-d features) on {trainSet.Count:N0} images, {options.Epochs} epochs, batch {options.BatchSize}, seed {options.Seed}");
            var clock = Stopwatch.StartNew();
            using var interrupt = new InterruptSignals();
            var result = ProgressDisplay.Run("classifier", 1.0, sink =>
                ClassifierTraining.Train(config, trainSet, testSet, options, new Reporter(sink), interrupt.Token));
            using var network = result.Network;
            ClassifierTraining.Save(network, outDir);
            var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("").AddColumn("");
            void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("test accuracy", result.TestAccuracy.ToString("P2", CultureInfo.InvariantCulture));
            Row("steps", result.Steps.ToString("N0", CultureInfo.InvariantCulture));
            Row("final loss", result.FinalLoss.ToString("F4", CultureInfo.InvariantCulture));
            Row("parameters", network.ParameterCount.ToString("N0", CultureInfo.InvariantCulture));
            Row("training time", clock.Elapsed.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
            Row("written", outDir);
            AnsiConsole.Write(table);
            return CliErrors.Ok;
        }));
        return train;
    }

    private sealed class Reporter(IProgressSink sink) : IProgress<ClassifierProgress>
    {
        public void Report(ClassifierProgress p) =>
            sink.Update((double)p.Step / p.TotalSteps, string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}"));
    }
}
