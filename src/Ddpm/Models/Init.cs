using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Models;

/// <summary>
/// Weight initialisation from an explicit generator: the official code's default, variance scaling with
/// scale 1, fan-average, uniform (Glorot/Xavier uniform), zero biases; and zero for the layers the official
/// code initialises with scale 1e-10 (the last convolution of each ResNet block, of attention, and of the model).
/// </summary>
internal static class Init
{
    public static void Default(Conv2d conv, Generator g) => Glorot(conv.weight!, conv.bias, g);

    public static void Default(Linear linear, Generator g) => Glorot(linear.weight!, linear.bias, g);

    public static void Zero(Conv2d conv)
    {
        using var noGrad = no_grad();
        conv.weight!.zero_();
        conv.bias?.zero_();
    }

    private static void Glorot(Tensor weight, Tensor? bias, Generator g)
    {
        using var noGrad = no_grad();
        var receptive = 1L;
        for (var i = 2; i < weight.dim(); i++) receptive *= weight.shape[i];
        var fanIn = weight.shape[1] * receptive;
        var fanOut = weight.shape[0] * receptive;
        var limit = Math.Sqrt(6.0 / (fanIn + fanOut));
        using var u = rand(weight.shape, generator: g);
        weight.copy_(u.mul_(2 * limit).sub_(limit));
        bias?.zero_();
    }
}
