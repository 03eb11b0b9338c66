using System.CommandLine;
using Ddpm.Sampling;

namespace Ddpm.Cli.Commands;

/// <summary>
/// The sampler options shared by <c>ddpm sample</c> and <c>ddpm eval</c>: <c>--sampler</c>, <c>--steps</c>, the solvers'
/// <c>--order</c>, <c>--solver-type</c> and <c>--variant</c>, DDIM's <c>--eta</c>, <c>--spacing</c> and the x̂_0 handling
/// of <see cref="ClipOption"/>, read into one <see cref="SamplerSettings"/>.
/// </summary>
internal sealed class SamplerOptions
{
    private static readonly Dictionary<string, SamplerKind> Kinds = new()
    {
        ["ddpm"] = SamplerKind.Ddpm,
        ["ddim"] = SamplerKind.Ddim,
        ["dpm-solver++"] = SamplerKind.DpmSolverPlusPlus,
        ["unipc"] = SamplerKind.UniPc,
        ["sde-dpm-solver++"] = SamplerKind.SdeDpmSolverPlusPlus,
    };

    private readonly Option<string?> sampler;
    private readonly Option<int?> steps = new Option<int?>("--steps") { Description = "Sampling steps = model calls (default: T for ddpm, 50 for ddim, 20 for the solvers)" }.PositiveOrNull();
    private readonly Option<int?> order = new Option<int?>("--order") { Description = "Solver order 1-3 of dpm-solver++, sde-dpm-solver++ and unipc (default 2)" }.PositiveOrNull();
    private readonly Option<string> solverType = new Option<string>("--solver-type") { Description = "Second-order update of dpm-solver++ and sde-dpm-solver++: midpoint or heun", DefaultValueFactory = _ => "midpoint" }
        .OneOf("midpoint", "heun");
    private readonly Option<string> variant = new Option<string>("--variant") { Description = "B(h) of unipc: bh1 or bh2", DefaultValueFactory = _ => "bh2" }.OneOf("bh1", "bh2");
    private readonly Option<double> eta = new Option<double>("--eta") { Description = "DDIM η: 0 deterministic, 1 DDPM-like", DefaultValueFactory = _ => 0.0 }.NonNegative();
    private readonly Option<string?> spacing = new("--spacing") { Description = "Timestep spacing with fewer steps: leading, linspace or trailing" };
    private readonly ClipOption clip = new();

    /// <summary>Options whose defaults, without <c>--sampler</c>, are <see cref="SamplerSettings.Recommended"/>.</summary>
    public SamplerOptions()
    {
        var recommended = SamplerSettings.Recommended;
        sampler = new Option<string?>("--sampler")
        {
            Description = $"ddpm (Algorithm 2), ddim, dpm-solver++, sde-dpm-solver++ or unipc (default: {NameOf(recommended.Kind)} with {recommended.Steps} steps, chosen by measurement, see docs/sampling.md)",
        };
        sampler.AcceptOnlyFromAmong([.. Kinds.Keys]);
        spacing.AcceptOnlyFromAmong("leading", "linspace", "trailing");
    }

    private static string NameOf(SamplerKind kind) => Kinds.First(p => p.Value == kind).Key;

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { sampler, steps, order, solverType, variant, eta, spacing }) command.Options.Add(option);
        clip.AddTo(command);
    }

    /// <summary>The settings the options describe; without <c>--sampler</c>, <paramref name="fallback"/> (default <see cref="SamplerSettings.Recommended"/>).</summary>
    public SamplerSettings Get(ParseResult parse, SamplerSettings? fallback = null)
    {
        var recommended = fallback ?? SamplerSettings.Recommended;
        var chosen = parse.GetValue(sampler);
        var kind = chosen is null ? recommended.Kind : Kinds[chosen];
        var solver = kind is SamplerKind.DpmSolverPlusPlus or SamplerKind.SdeDpmSolverPlusPlus or SamplerKind.UniPc;
        if (parse.GetValue(order) is { } o && (!solver || o > 3))
            throw new ArgumentException(solver ? $"--order must be 1, 2 or 3 (got {o})." : "--order applies to dpm-solver++, sde-dpm-solver++ and unipc.");
        return new SamplerSettings
        {
            Kind = kind,
            Steps = parse.GetValue(steps) ?? (chosen is null ? recommended.Steps : null),
            Order = parse.GetValue(order) ?? (chosen is null ? recommended.Order : null),
            SolverType = parse.GetValue(solverType) == "heun" ? DpmSolverType.Heun : DpmSolverType.Midpoint,
            Variant = parse.GetValue(variant) == "bh1" ? UniPcVariant.Bh1 : UniPcVariant.Bh2,
            Eta = parse.GetValue(eta),
            Spacing = parse.GetValue(spacing) switch
            {
                "leading" => TimestepSpacing.Leading,
                "linspace" => TimestepSpacing.Linspace,
                "trailing" => TimestepSpacing.Trailing,
                _ => null,
            },
            Denoised = clip.Get(parse),
        };
    }

    /// <summary>How the x̂_0 handling of <paramref name="settings"/> is named: the <c>--clip</c> value for DDPM and DDIM; the solvers integrate the raw x̂_0.</summary>
    public static string ClipName(SamplerSettings settings) =>
        settings.Kind is SamplerKind.Ddpm or SamplerKind.Ddim ? ClipOption.NameOf(settings.EffectiveDenoised) : "none (solver)";
}
