using System.CommandLine;
using System.Globalization;
using Ddpm.Imaging;
using Ddpm.Schedules;
using Spectre.Console;

namespace Ddpm.Cli.Commands;

/// <summary><c>ddpm schedule</c>: prints the forward process's constants per timestep, and optionally plots them.</summary>
internal static class ScheduleCommand
{
    public static Command Create()
    {
        var schedule = new Option<string>("--schedule") { Description = "β schedule: linear, quadratic, sigmoid or cosine", DefaultValueFactory = _ => "linear" }
            .OneOf("linear", "quadratic", "sigmoid", "cosine");
        var timesteps = new Option<int>("--timesteps") { Description = "Length T of the diffusion chain", DefaultValueFactory = _ => 1000 }.Positive();
        var betaStart = new Option<double>("--beta-start") { Description = "β at index 0 (linear, quadratic, sigmoid)", DefaultValueFactory = _ => 1e-4 };
        var betaEnd = new Option<double>("--beta-end") { Description = "β at index T-1 (linear, quadratic, sigmoid)", DefaultValueFactory = _ => 0.02 };
        var format = new Option<string>("--format") { Description = "Output format: table or csv", DefaultValueFactory = _ => "table" }.OneOf("table", "csv");
        var every = new Option<int>("--every") { Description = "Print every N-th timestep (the last one is always printed)", DefaultValueFactory = _ => 1 }.Positive();
        var plot = new Option<string?>("--plot") { Description = "Also draw ᾱ and √(1−ᾱ) against t into this PNG file" };
        var command = new Command("schedule", "Print the noise schedule: one row per 0-based timestep t = 0..T-1 (the paper's t is t+1).")
        {
            schedule, timesteps, betaStart, betaEnd, format, every, plot,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var config = new ScheduleConfig
            {
                Kind = ParseKind(parse.GetValue(schedule)!),
                Timesteps = parse.GetValue(timesteps),
                BetaStart = parse.GetValue(betaStart),
                BetaEnd = parse.GetValue(betaEnd),
            };
            using var s = NoiseSchedule.Create(config);
            var step = parse.GetValue(every);
            var rows = Enumerable.Range(0, s.Timesteps).Where(t => t % step == 0 || t == s.Timesteps - 1).ToList();
            if (parse.GetValue(format) == "csv") WriteCsv(s, rows);
            else WriteTable(s, rows, config);
            if (parse.GetValue(plot) is { } png)
            {
                Plots.ScheduleCurves(s.AlphasCumprod, s.SqrtOneMinusAlphasCumprod, png, $"{config.Kind} schedule, T = {config.Timesteps}");
                Console.Error.WriteLine($"plot written to {png}");
            }
            return CliErrors.Ok;
        }));
        return command;
    }

    internal static BetaScheduleKind ParseKind(string name) => name switch
    {
        "linear" => BetaScheduleKind.Linear,
        "quadratic" => BetaScheduleKind.Quadratic,
        "sigmoid" => BetaScheduleKind.Sigmoid,
        "cosine" => BetaScheduleKind.Cosine,
        _ => throw new ArgumentException($"Unknown schedule '{name}'."),
    };

    private static readonly string[] Columns =
        ["t", "beta", "alpha_bar", "sqrt_alpha_bar", "sqrt_one_minus_alpha_bar", "posterior_variance", "posterior_log_variance_clipped"];

    private static string[] Row(NoiseSchedule s, int t) =>
    [
        t.ToString(CultureInfo.InvariantCulture),
        F(s.Betas[t]), F(s.AlphasCumprod[t]), F(s.SqrtAlphasCumprod[t]), F(s.SqrtOneMinusAlphasCumprod[t]),
        F(s.PosteriorVariance[t]), F(s.PosteriorLogVarianceClipped[t]),
    ];

    private static string F(double v) => v.ToString("G10", CultureInfo.InvariantCulture);

    private static void WriteCsv(NoiseSchedule s, List<int> rows)
    {
        var output = Console.Out;
        output.WriteLine(string.Join(',', Columns));
        foreach (var t in rows) output.WriteLine(string.Join(',', Row(s, t)));
    }

    private static void WriteTable(NoiseSchedule s, List<int> rows, ScheduleConfig config)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"{config.Kind} schedule, T = {config.Timesteps} (t is 0-based)");
        foreach (var c in Columns) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var t in rows) table.AddRow(Row(s, t));
        // A pipe or log has no width of its own: give the table room rather than wrapping every number.
        var console = Console.IsOutputRedirected
            ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Ansi = AnsiSupport.No })
            : AnsiConsole.Console;
        if (Console.IsOutputRedirected) console.Profile.Width = 200;
        console.Write(table);
    }
}
