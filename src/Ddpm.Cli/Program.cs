using System.CommandLine;
using Ddpm.Cli;
using Ddpm.Cli.Commands;

var root = new RootCommand(
    "ddpm: train, sample and inspect denoising diffusion probabilistic models (Ho, Jain & Abbeel 2020) on the CPU.\n" +
    "Timesteps are 0-based indices 0..T-1 everywhere (options, CSV, plots); the paper's t is index + 1.");
root.Subcommands.Add(ScheduleCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(SampleCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
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
