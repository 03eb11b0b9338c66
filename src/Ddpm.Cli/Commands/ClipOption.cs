using System.CommandLine;
using Ddpm.Diffusion;

namespace Ddpm.Cli.Commands;

/// <summary>The <c>--clip</c> option (x̂_0 handling) shared by <c>ddpm sample</c> and <c>ddpm eval</c>, with <c>--no-clip</c> as an alias of <c>--clip none</c>.</summary>
internal sealed class ClipOption
{
    private static readonly Dictionary<string, DenoisedHandling> Names = new()
    {
        ["none"] = DenoisedHandling.None,
        ["clip"] = DenoisedHandling.Clip,
        ["clip-eps"] = DenoisedHandling.ClipRecomputeEps,
        ["dynamic"] = DenoisedHandling.DynamicThreshold,
    };

    public Option<string?> Clip { get; } = new Option<string?>("--clip")
    {
        Description = "x̂0 at each step of ddpm and ddim: none, clip (clip x̂0; DDIM keeps the model's ε, as diffusers; the default of ddpm), clip-eps (clip x̂0 and recompute ε from it; the default of ddim, by measurement) or dynamic (Imagen's dynamic thresholding)",
    };

    public Option<bool> NoClip { get; } = new("--no-clip") { Description = "Same as --clip none" };

    public ClipOption() => Clip.AcceptOnlyFromAmong([.. Names.Keys]);

    /// <summary>Adds both options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Clip);
        command.Options.Add(NoClip);
    }

    /// <summary>The chosen handling, or null for the sampler's default (<see cref="Sampling.SamplerSettings.EffectiveDenoised"/>).</summary>
    public DenoisedHandling? Get(ParseResult parse)
    {
        var name = parse.GetValue(Clip);
        if (parse.GetValue(NoClip))
        {
            if (name is not null && name != "none") throw new ArgumentException($"--no-clip contradicts --clip {name}.");
            return DenoisedHandling.None;
        }
        return name is null ? null : Names[name];
    }

    /// <summary>The option value naming <paramref name="handling"/>.</summary>
    public static string NameOf(DenoisedHandling handling) => Names.First(p => p.Value == handling).Key;
}
