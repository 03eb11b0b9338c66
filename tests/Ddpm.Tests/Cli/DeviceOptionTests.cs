using Ddpm.Cli.Commands;
using TorchSharp;

namespace Ddpm.Tests.Cli;

/// <summary><c>--device</c>: cpu always, cuda and cuda:N only where CUDA exists, anything else a one-line error.</summary>
public sealed class DeviceOptionTests
{
    [Fact]
    public void Cpu_is_the_cpu()
    {
        Assert.Equal(DeviceType.CPU, CommonOptions.ParseDevice("cpu").type);
        Assert.Equal(DeviceType.CPU, CommonOptions.ParseDevice(" CPU ").type);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("")]
    public void Other_names_are_refused_in_one_line(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => CommonOptions.ParseDevice(value));
        Assert.Contains("cpu, cuda or cuda:N", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Cuda_without_cuda_is_a_clear_one_line_error()
    {
        // This machine and the default build have no CUDA; where they do, cuda:0 is a device and the test says so.
        if (torch.cuda.is_available())
        {
            Assert.Equal(DeviceType.CUDA, CommonOptions.ParseDevice("cuda:0").type);
            return;
        }
        foreach (var value in new[] { "cuda", "cuda:1" })
        {
            var e = Assert.Throws<ArgumentException>(() => CommonOptions.ParseDevice(value));
            Assert.Contains("CUDA is not available", e.Message);
        }
    }
}
