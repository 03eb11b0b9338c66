using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ddpm.Evaluation;

/// <summary>
/// The Inception-v3 network of FID (TensorFlow's 2015-12-05 graph as pytorch-fid ports it): torchvision's Inception3
/// with 1008 classes and no auxiliary head, whose Mixed_5b–5d, 6b–6e, 7b and 7c blocks are pytorch-fid's
/// <c>FIDInceptionA</c>, <c>FIDInceptionC</c>, <c>FIDInceptionE_1</c> and <c>FIDInceptionE_2</c>: the average-pool branches
/// exclude padding from the mean (TensorFlow's convention) and the last block max-pools. State-dict keys equal those of
/// pytorch-fid's weight file <c>pt_inception-2015-12-05-6726825d.pth</c> (<c>Conv2d_1a_3x3.conv.weight</c>, …, <c>fc.weight</c>).
/// </summary>
public sealed class FidInceptionV3 : nn.Module<Tensor, Tensor>
{
    /// <summary>The input side pytorch-fid resizes to.</summary>
    public const int InputSize = 299;

    /// <summary>Length of the final average-pool features.</summary>
    public const int FeatureDimension = 2048;

    /// <summary>Classes of the TensorFlow graph's head (1000 ImageNet classes and 8 unused).</summary>
    public const int Classes = 1008;

    private readonly BasicConv2d conv1a, conv2a, conv2b, conv3b, conv4a;
    private readonly nn.Module<Tensor, Tensor>[] mixed;
    private readonly Linear fc;

    /// <summary>A network with PyTorch's default initialisation (load weights before use).</summary>
    public FidInceptionV3() : base("FidInceptionV3")
    {
        conv1a = Register("Conv2d_1a_3x3", new BasicConv2d(3, 32, (3, 3), stride: 2));
        conv2a = Register("Conv2d_2a_3x3", new BasicConv2d(32, 32, (3, 3)));
        conv2b = Register("Conv2d_2b_3x3", new BasicConv2d(32, 64, (3, 3), padding: (1, 1)));
        conv3b = Register("Conv2d_3b_1x1", new BasicConv2d(64, 80, (1, 1)));
        conv4a = Register("Conv2d_4a_3x3", new BasicConv2d(80, 192, (3, 3)));
        mixed =
        [
            Register<nn.Module<Tensor, Tensor>>("Mixed_5b", new InceptionA(192, 32)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_5c", new InceptionA(256, 64)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_5d", new InceptionA(288, 64)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_6a", new InceptionB(288)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_6b", new InceptionC(768, 128)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_6c", new InceptionC(768, 160)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_6d", new InceptionC(768, 160)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_6e", new InceptionC(768, 192)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_7a", new InceptionD(768)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_7b", new InceptionE(1280, maxPool: false)),
            Register<nn.Module<Tensor, Tensor>>("Mixed_7c", new InceptionE(2048, maxPool: true)),
        ];
        fc = Register("fc", nn.Linear(FeatureDimension, Classes));
    }

    private T Register<T>(string name, T module) where T : nn.Module
    {
        register_module(name, module);
        return module;
    }

    /// <summary>The 2048-d pool features [N, 2048] of network inputs [N, 3, H, W] already in the network's range [−1, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv2b.call(conv2a.call(conv1a.call(x)));
        h = nn.functional.max_pool2d(h, 3, stride: 2);
        h = conv4a.call(conv3b.call(h));
        h = nn.functional.max_pool2d(h, 3, stride: 2);
        foreach (var block in mixed) h = block.call(h);
        return h.mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The head's logits without its bias, pool · Wᵀ: torch-fidelity's and torchmetrics' <c>logits_unbiased</c>, from which
    /// they compute the Inception Score.
    /// </summary>
    public Tensor UnbiasedLogits(Tensor pool) => pool.matmul(fc.weight!.t());

    private sealed class BasicConv2d : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn;

        public BasicConv2d(long input, long output, (long, long) kernel, long stride = 1, (long, long)? padding = null) : base("BasicConv2d")
        {
            conv = nn.Conv2d(input, output, kernel, stride: (stride, stride), padding: padding ?? (0, 0), bias: false);
            bn = nn.BatchNorm2d(output, eps: 0.001);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var h = bn.call(conv.call(x));
            return nn.functional.relu(h);
        }
    }

    /// <summary>A block whose branches are concatenated along channels.</summary>
    private abstract class Branches(string name) : nn.Module<Tensor, Tensor>(name)
    {
        protected BasicConv2d Conv(string key, long input, long output, (long, long) kernel, long stride = 1, (long, long)? padding = null)
        {
            var module = new BasicConv2d(input, output, kernel, stride, padding);
            register_module(key, module);
            return module;
        }

        protected static Tensor AvgPoolExcludingPadding(Tensor x) =>
            nn.functional.avg_pool2d(x, 3, stride: 1, padding: 1, count_include_pad: false);

        public sealed override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            return cat(Forward(x), 1).MoveToOuterDisposeScope();
        }

        protected abstract Tensor[] Forward(Tensor x);
    }

    /// <summary>pytorch-fid's FIDInceptionA (torchvision's InceptionA, average pool without padding).</summary>
    private sealed class InceptionA : Branches
    {
        private readonly BasicConv2d branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool;

        public InceptionA(long input, long poolFeatures) : base("FIDInceptionA")
        {
            branch1x1 = Conv("branch1x1", input, 64, (1, 1));
            branch5x5_1 = Conv("branch5x5_1", input, 48, (1, 1));
            branch5x5_2 = Conv("branch5x5_2", 48, 64, (5, 5), padding: (2, 2));
            branch3x3dbl_1 = Conv("branch3x3dbl_1", input, 64, (1, 1));
            branch3x3dbl_2 = Conv("branch3x3dbl_2", 64, 96, (3, 3), padding: (1, 1));
            branch3x3dbl_3 = Conv("branch3x3dbl_3", 96, 96, (3, 3), padding: (1, 1));
            branch_pool = Conv("branch_pool", input, poolFeatures, (1, 1));
        }

        protected override Tensor[] Forward(Tensor x) =>
            [branch1x1.call(x), branch5x5_2.call(branch5x5_1.call(x)), branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x))), branch_pool.call(AvgPoolExcludingPadding(x))];
    }

    /// <summary>torchvision's InceptionB (grid reduction, unchanged in pytorch-fid).</summary>
    private sealed class InceptionB : Branches
    {
        private readonly BasicConv2d branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;

        public InceptionB(long input) : base("InceptionB")
        {
            branch3x3 = Conv("branch3x3", input, 384, (3, 3), stride: 2);
            branch3x3dbl_1 = Conv("branch3x3dbl_1", input, 64, (1, 1));
            branch3x3dbl_2 = Conv("branch3x3dbl_2", 64, 96, (3, 3), padding: (1, 1));
            branch3x3dbl_3 = Conv("branch3x3dbl_3", 96, 96, (3, 3), stride: 2);
        }

        protected override Tensor[] Forward(Tensor x) =>
            [branch3x3.call(x), branch3x3dbl_3.call(branch3x3dbl_2.call(branch3x3dbl_1.call(x))), nn.functional.max_pool2d(x, 3, stride: 2)];
    }

    /// <summary>pytorch-fid's FIDInceptionC (factorised 7×7 convolutions, average pool without padding).</summary>
    private sealed class InceptionC : Branches
    {
        private readonly BasicConv2d branch1x1, branch7x7_1, branch7x7_2, branch7x7_3, branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool;

        public InceptionC(long input, long c7) : base("FIDInceptionC")
        {
            branch1x1 = Conv("branch1x1", input, 192, (1, 1));
            branch7x7_1 = Conv("branch7x7_1", input, c7, (1, 1));
            branch7x7_2 = Conv("branch7x7_2", c7, c7, (1, 7), padding: (0, 3));
            branch7x7_3 = Conv("branch7x7_3", c7, 192, (7, 1), padding: (3, 0));
            branch7x7dbl_1 = Conv("branch7x7dbl_1", input, c7, (1, 1));
            branch7x7dbl_2 = Conv("branch7x7dbl_2", c7, c7, (7, 1), padding: (3, 0));
            branch7x7dbl_3 = Conv("branch7x7dbl_3", c7, c7, (1, 7), padding: (0, 3));
            branch7x7dbl_4 = Conv("branch7x7dbl_4", c7, c7, (7, 1), padding: (3, 0));
            branch7x7dbl_5 = Conv("branch7x7dbl_5", c7, 192, (1, 7), padding: (0, 3));
            branch_pool = Conv("branch_pool", input, 192, (1, 1));
        }

        protected override Tensor[] Forward(Tensor x) =>
            [branch1x1.call(x), branch7x7_3.call(branch7x7_2.call(branch7x7_1.call(x))), branch7x7dbl_5.call(branch7x7dbl_4.call(branch7x7dbl_3.call(branch7x7dbl_2.call(branch7x7dbl_1.call(x))))), branch_pool.call(AvgPoolExcludingPadding(x))];
    }

    /// <summary>torchvision's InceptionD (grid reduction, unchanged in pytorch-fid).</summary>
    private sealed class InceptionD : Branches
    {
        private readonly BasicConv2d branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;

        public InceptionD(long input) : base("InceptionD")
        {
            branch3x3_1 = Conv("branch3x3_1", input, 192, (1, 1));
            branch3x3_2 = Conv("branch3x3_2", 192, 320, (3, 3), stride: 2);
            branch7x7x3_1 = Conv("branch7x7x3_1", input, 192, (1, 1));
            branch7x7x3_2 = Conv("branch7x7x3_2", 192, 192, (1, 7), padding: (0, 3));
            branch7x7x3_3 = Conv("branch7x7x3_3", 192, 192, (7, 1), padding: (3, 0));
            branch7x7x3_4 = Conv("branch7x7x3_4", 192, 192, (3, 3), stride: 2);
        }

        protected override Tensor[] Forward(Tensor x) =>
            [branch3x3_2.call(branch3x3_1.call(x)), branch7x7x3_4.call(branch7x7x3_3.call(branch7x7x3_2.call(branch7x7x3_1.call(x)))), nn.functional.max_pool2d(x, 3, stride: 2)];
    }

    /// <summary>pytorch-fid's FIDInceptionE_1 (average pool without padding) or FIDInceptionE_2 (max pool).</summary>
    private sealed class InceptionE : Branches
    {
        private readonly BasicConv2d branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool;
        private readonly bool maxPool;

        public InceptionE(long input, bool maxPool) : base(maxPool ? "FIDInceptionE_2" : "FIDInceptionE_1")
        {
            this.maxPool = maxPool;
            branch1x1 = Conv("branch1x1", input, 320, (1, 1));
            branch3x3_1 = Conv("branch3x3_1", input, 384, (1, 1));
            branch3x3_2a = Conv("branch3x3_2a", 384, 384, (1, 3), padding: (0, 1));
            branch3x3_2b = Conv("branch3x3_2b", 384, 384, (3, 1), padding: (1, 0));
            branch3x3dbl_1 = Conv("branch3x3dbl_1", input, 448, (1, 1));
            branch3x3dbl_2 = Conv("branch3x3dbl_2", 448, 384, (3, 3), padding: (1, 1));
            branch3x3dbl_3a = Conv("branch3x3dbl_3a", 384, 384, (1, 3), padding: (0, 1));
            branch3x3dbl_3b = Conv("branch3x3dbl_3b", 384, 384, (3, 1), padding: (1, 0));
            branch_pool = Conv("branch_pool", input, 192, (1, 1));
        }

        protected override Tensor[] Forward(Tensor x)
        {
            var s = branch3x3_1.call(x);
            var d = branch3x3dbl_2.call(branch3x3dbl_1.call(x));
            var pooled = maxPool ? nn.functional.max_pool2d(x, 3, stride: 1, padding: 1) : AvgPoolExcludingPadding(x);
            return [branch1x1.call(x), branch3x3_2a.call(s), branch3x3_2b.call(s), branch3x3dbl_3a.call(d), branch3x3dbl_3b.call(d), branch_pool.call(pooled)];
        }
    }
}
