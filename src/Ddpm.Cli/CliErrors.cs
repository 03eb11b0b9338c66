using Ddpm.Data;
using Ddpm.Training;

namespace Ddpm.Cli;

/// <summary>Turns the failures a user can cause into one line on stderr and an exit code.</summary>
internal static class CliErrors
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    /// <summary>Runs <paramref name="action"/>, mapping expected failures to a one-line message and exit code 1.</summary>
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            return Report(e.Message);
        }
    }

    public static int Report(string message)
    {
        var line = message.ReplaceLineEndings(" ").Trim();
        Console.Error.WriteLine($"ddpm: error: {line}");
        return Failure;
    }

    private static bool IsUserFacing(Exception e) => e is ArgumentException or DataException or IOException or UnauthorizedAccessException
        or InvalidDataException or TrainingDivergedException or NotSupportedException or FormatException;
}
