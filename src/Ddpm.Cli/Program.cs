using System.CommandLine;
using System.CommandLine.Help;
using Ddpm.Cli;
using Ddpm.Cli.Commands;

// A plain command named ddpm rather than a RootCommand, whose name is the executable's: run from the dll (as
// `dotnet Ddpm.Cli.dll`) the help would otherwise say "Usage: Ddpm.Cli".
var root = new Command("ddpm",
    "ddpm: train, sample and inspect denoising diffusion probabilistic models (Ho, Jain & Abbeel 2020).\n" +
    "Timesteps are 0-based indices 0..T-1 everywhere (options, CSV, plots); the paper's t is index + 1.")
{
    new HelpOption(),
    new VersionOption(),
};
root.Subcommands.Add(ScheduleCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(SampleCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(NllCommand.Create());
root.Subcommands.Add(RateDistortionCommand.Create());
root.Subcommands.Add(InterpolateCommand.Create());
root.Subcommands.Add(InpaintCommand.Create());
root.Subcommands.Add(ImageToImageCommand.Create());
root.Subcommands.Add(UpscaleCommand.Create());
root.Subcommands.Add(ClassifierCommand.Create());

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    var messages = string.Join("; ", parsed.Errors.Select(e => e.Message.ReplaceLineEndings(" ").TrimEnd('.')));
    Console.Error.WriteLine($"ddpm: error: {messages} (see ddpm --help)");
    return CliErrors.Usage;
}
Runtime.Configure();
// Signals are handled by the commands themselves (train finishes its step and writes a checkpoint).
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
