using TorchSharp;
Console.WriteLine(torch.randn(5, generator: new torch.Generator(0)).ToString(TorchSharp.TensorStringStyle.Julia));
torch.manual_seed(0);
Console.WriteLine(string.Join(", ", torch.randn(5).data<float>().ToArray()));
