using System.CommandLine;
using System.Globalization;

namespace Ddpm.Cli.Commands;

/// <summary>
/// The class and guidance options of <c>ddpm sample</c> and <c>ddpm eval</c>: <c>--class K|NAME|all</c> and
/// <c>--guidance W</c> (diffusers' scale: 0 unconditional, 1 conditional, &gt; 1 guided; the paper's w is W − 1).
/// </summary>
internal sealed class ConditioningOptions
{
    /// <summary>The value of <c>--class</c> that asks for every class.</summary>
    public const string AllClasses = "all";

    public Option<string?> Class { get; } = new("--class")
    {
        Description = "Class of a class-conditional model: its index, its name, or all (one grid row per class); default: the classes in turn (image i of class i mod K)",
    };

    public Option<double> Guidance { get; } = new("--guidance")
    {
        Description = "Classifier-free guidance scale W (diffusers' convention): 0 unconditional, 1 conditional, > 1 guided; the paper's w = W − 1",
        DefaultValueFactory = _ => 1.0,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Class);
        command.Options.Add(Guidance);
    }

    /// <summary>Whether <c>--class all</c> was given.</summary>
    public bool IsAll(ParseResult parse) => string.Equals(parse.GetValue(Class), AllClasses, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The label of each of <paramref name="count"/> images from index <paramref name="first"/> on, for a model with
    /// <paramref name="classNames"/>: null for an unconditional model (and then --class is refused). With --class all,
    /// <paramref name="perClass"/> images of class 0, then of class 1, and so on.
    /// </summary>
    public long[]? Labels(ParseResult parse, IReadOnlyList<string> classNames, long first, int count, int perClass = 1)
    {
        var text = parse.GetValue(Class);
        if (classNames.Count == 0)
        {
            if (text is not null) throw new ArgumentException("--class needs a class-conditional model (ddpm train --class-cond); this one is unconditional.");
            return null;
        }
        if (text is null) return [.. Enumerable.Range(0, count).Select(i => (first + i) % classNames.Count)];
        if (IsAll(parse)) return [.. Enumerable.Range(0, count).Select(i => (first + i) / perClass % classNames.Count)];
        var label = Parse(text, classNames);
        return [.. Enumerable.Repeat((long)label, count)];
    }

    /// <summary>A class given by index or by name (case-insensitive), with a one-line error naming the choices.</summary>
    public static int Parse(string text, IReadOnlyList<string> classNames)
    {
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
        {
            if (index >= 0 && index < classNames.Count) return index;
        }
        else
        {
            for (var i = 0; i < classNames.Count; i++)
            {
                if (string.Equals(classNames[i], text, StringComparison.OrdinalIgnoreCase)) return i;
            }
        }
        throw new ArgumentException($"--class {text} is not a class of this model: give 0..{classNames.Count - 1}, a name ({string.Join(", ", classNames)}) or all.");
    }
}
