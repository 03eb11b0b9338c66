using System.CommandLine;

namespace Ddpm.Cli.Commands;

/// <summary>Option helpers shared by the commands.</summary>
internal static class CommonOptions
{
    public static Option<T> Positive<T>(this Option<T> option) where T : struct, IComparable<T>
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T>();
            if (value.CompareTo(default) <= 0) result.AddError($"{option.Name} must be positive (got {value}).");
        });
        return option;
    }

    public static Option<T?> PositiveOrNull<T>(this Option<T?> option) where T : struct, IComparable<T>
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T?>();
            if (value is { } v && v.CompareTo(default) <= 0) result.AddError($"{option.Name} must be positive (got {v}).");
        });
        return option;
    }

    public static Option<T> NonNegative<T>(this Option<T> option) where T : struct, IComparable<T>
    {
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<T>();
            if (value.CompareTo(default) < 0) result.AddError($"{option.Name} must not be negative (got {value}).");
        });
        return option;
    }

    public static Option<string> OneOf(this Option<string> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
