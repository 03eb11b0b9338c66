using System.CommandLine;
using System.Globalization;
using TorchSharp;

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

    /// <summary><c>--device cpu|cuda|cuda:N</c>, read with <see cref="ParseDevice"/>.</summary>
    public static Option<string> DeviceOption() =>
        new("--device") { Description = "Where the model runs: cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };

    /// <summary>
    /// The device named by <paramref name="value"/> (cpu, cuda or cuda:N); an <see cref="ArgumentException"/> with a
    /// one-line reason for anything else, or for CUDA when this build or machine has none.
    /// </summary>
    public static torch.Device ParseDevice(string value)
    {
        var text = value.Trim().ToLowerInvariant();
        if (text == "cpu") return torch.CPU;
        int? index = null;
        if (text.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new ArgumentException($"--device: '{value}' is not cpu, cuda or cuda:N.");
            index = n;
        }
        else if (text != "cuda")
        {
            throw new ArgumentException($"--device: '{value}' is not cpu, cuda or cuda:N.");
        }
        if (!torch.cuda.is_available())
            throw new ArgumentException($"--device {value}: CUDA is not available (this build uses TorchSharp-cpu, or no GPU is present; build with -p:TorchBackend=cuda).");
        var count = torch.cuda.device_count();
        if (index is { } i && i >= count) throw new ArgumentException($"--device {value}: there are {count} CUDA devices (0..{count - 1}).");
        return new torch.Device(DeviceType.CUDA, index ?? 0);
    }

    public static Option<string> OneOf(this Option<string> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
