using System.Diagnostics;
using Ddpm.Models;
using TorchSharp;
using static TorchSharp.torch;
Ddpm.CpuRuntime.Configure();
var g = new Generator(0);
void Time(string name, Func<Tensor> f, int iters = 3)
{
    Tensor Run() { var y = f(); y.to(ScalarType.Float32).square().sum().backward(); return y; }
    using (var s = NewDisposeScope()) Run();
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < iters; i++) { using var s = NewDisposeScope(); Run(); }
    Console.WriteLine($"{name,-40} {sw.Elapsed.TotalMilliseconds / iters,8:F1} ms (fwd+bwd)");
}
int B = 64;
var m = new UNet(UNetConfig.Small);
var xin = randn([B, 1, 28, 28], generator: g);
var t = zeros([B], dtype: ScalarType.Int64);
Time("unet small b64 fp32", () => m.call(xin, t));
var mb = new UNet(UNetConfig.Small);
mb.to(ScalarType.BFloat16);
var xb = xin.to(ScalarType.BFloat16);
Time("unet small b64 bf16", () => mb.call(xb, t));
m.eval();
Time("unet small b64 fp32 eval(no dropout)", () => m.call(xin, t));
