using System.Diagnostics;
using Ddpm.Models;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
Ddpm.CpuRuntime.Configure();
Console.WriteLine($"allocator tuned {Ddpm.CpuRuntime.AllocatorTuned}");
var g = new Generator(0);
void Time(string name, Func<Tensor> f, int iters = 5)
{
    using (var s = NewDisposeScope()) f();
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < iters; i++) { using var s = NewDisposeScope(); f(); }
    Console.WriteLine($"{name,-40} {sw.Elapsed.TotalMilliseconds / iters,8:F1} ms");
}
using var ng = no_grad();
var x32 = randn([128, 32, 28, 28], generator: g);
var x64 = randn([128, 64, 14, 14], generator: g);
var conv32 = nn.Conv2d(32, 32, 3, padding: 1);
var conv64 = nn.Conv2d(64, 64, 3, padding: 1);
var gn32 = nn.GroupNorm(32, 32, 1e-6); using (no_grad()) { gn32.weight!.fill_(1); gn32.bias!.fill_(0); }
Time("conv3x3 32ch 28x28 b128", () => conv32.call(x32));
Time("conv3x3 64ch 14x14 b128", () => conv64.call(x64));
Time("groupnorm 32ch 28x28", () => gn32.call(x32));
Time("silu 32ch 28x28", () => F.silu(x32));
var attn = new AttnBlock(64, 32, new Generator(1));
Time("attn 64ch 14x14 b128", () => attn.call(x64));
var res = new ResnetBlock(32, 32, 128, 0.1, 32, new Generator(1));
res.eval();
var temb = randn([128, 128], generator: g);
Time("resblock 32ch 28x28", () => res.call(x32, temb));
var q = randn([128, 1, 196, 64], generator: g);
Time("sdpa 196x64", () => F.scaled_dot_product_attention(q, q, q));
Time("bmm attention 196x64", () => F.softmax(matmul(q, q.transpose(2, 3)) / 8.0, -1).matmul(q));
var x1 = randn([128, 1, 28, 28], generator: g);
var convIn = nn.Conv2d(1, 32, 3, padding: 1);
Time("conv_in 1->32", () => convIn.call(x1));
var convOut = new OutputConv(32, 1);
Time("conv_out 32->1", () => convOut.call(x32));
var down = new Downsample(32, new Generator(1));
Time("downsample 32", () => down.call(x32));
var up = new Upsample(64, new Generator(1));
Time("upsample 64 14->28", () => up.call(x64));
var emb = new TimestepEmbedding(32, 128, new Generator(1));
Time("temb", () => emb.call(zeros([128], dtype: ScalarType.Int64)));
var x96 = randn([128, 96, 28, 28], generator: g);
var res96 = new ResnetBlock(96, 32, 128, 0.1, 32, new Generator(1)); res96.eval();
Time("resblock 96->32 28x28", () => res96.call(x96, temb));
var m = new UNet(UNetConfig.Small); m.eval();
var xin = randn([128, 1, 28, 28], generator: g);
var t = zeros([128], dtype: ScalarType.Int64);
Time("unet small fwd b128 (no grad)", () => m.call(xin, t), 3);
