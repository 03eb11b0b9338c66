using System.CommandLine;
using Ddpm.Evaluation;

namespace Ddpm.Cli.Commands;

/// <summary>
/// <c>ddpm compare</c>: evaluations of <c>ddpm eval</c> side by side, a metric against sampling steps per sampler, with
/// other evaluations (the real-data floor, the full chain) as levels; prints a Markdown table and writes a PNG chart.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("evaluations") { Description = "Folders of sampled ddpm eval runs (each with eval.json)", Arity = ArgumentArity.OneOrMore };
        var lines = new Option<string[]>("--line") { Description = "An evaluation drawn as a level to reach (the real-data floor, DDPM-1000); repeatable", AllowMultipleArgumentsPerToken = true };
        var metric = new Option<string>("--metric") { Description = "fid, kid, precision, recall or class-accuracy (the share of a class-conditional model's samples classified as asked)", DefaultValueFactory = _ => "fid" }
            .OneOf("fid", "kid", "precision", "recall", "class-accuracy");
        var against = new Option<string>("--against") { Description = "The horizontal axis: steps (a series per sampler) or guidance (a series per sampler and step count)", DefaultValueFactory = _ => "steps" }
            .OneOf("steps", "guidance");
        var plot = new Option<string?>("--plot") { Description = "Write the chart to this PNG file" };
        var markdown = new Option<string?>("--markdown") { Description = "Write the table to this Markdown file" };
        var title = new Option<string?>("--title") { Description = "Chart title" };
        var command = new Command("compare", "Compare ddpm eval runs: a metric against sampling steps per sampler (or against guidance), as a table and a chart.")
        {
            runs, lines, metric, against, plot, markdown, title,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var plotPath = parse.GetValue(plot);
            if (plotPath is not null && !plotPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"--plot must name a .png file (got {plotPath}).");
            if (plotPath is not null) OutputPaths.EnsureWritableFile(plotPath);
            var markdownPath = parse.GetValue(markdown);
            if (markdownPath is not null) OutputPaths.EnsureWritableFile(markdownPath);
            var comparison = new EvaluationComparison(
                [.. parse.GetValue(runs)!.Select(EvaluatedRun.Load)],
                [.. (parse.GetValue(lines) ?? []).Select(EvaluatedRun.Load)],
                Enum.Parse<QualityMetric>(parse.GetValue(metric)!.Replace("-", "", StringComparison.Ordinal), ignoreCase: true),
                parse.GetValue(against) == "guidance" ? ComparisonAxis.Guidance : ComparisonAxis.Steps);
            var table = comparison.Markdown();
            Console.Write(table);
            if (markdownPath is not null) File.WriteAllText(markdownPath, table);
            if (plotPath is not null)
            {
                comparison.SavePlot(plotPath, parse.GetValue(title));
                Console.WriteLine($"Chart: {Path.GetFullPath(plotPath)}");
            }
            return CliErrors.Ok;
        }));
        return command;
    }
}
