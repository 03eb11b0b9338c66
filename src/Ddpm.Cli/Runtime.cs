namespace Ddpm.Cli;

/// <summary>Process-wide settings applied once at start-up.</summary>
internal static class Runtime
{
    public static void Configure() => CpuRuntime.Configure();
}
