using Ddpm.Checkpoints;
using Ddpm.Conditioning;
using Ddpm.Imaging;
using Ddpm.Tests.TestSupport;
using SkiaSharp;
using static TorchSharp.torch;

namespace Ddpm.Tests.Cli;

/// <summary>The conditional commands end to end on tiny folder runs: class-conditional training and sampling, inpainting, SDEdit and super-resolution.</summary>
public sealed class ConditionalCliTests : IDisposable
{
    private readonly TempFolder temp = new();

    /// <summary>An 8×8 image folder with two classes (sub-folders) of four images each.</summary>
    private string Pictures()
    {
        var pictures = Path.Combine(temp.Path, "pictures");
        foreach (var (name, shade) in new[] { ("boots", 40), ("shirts", 200) })
        {
            for (var i = 0; i < 4; i++)
                Ddpm.Tests.Data.TestData.WriteImage(temp.WritableFile(Path.Combine("pictures", name, $"{i}.png")), 8, 8,
                    (x, y) => new SKColor((byte)(shade + x * 3 + i), (byte)(shade + y * 3), (byte)shade));
        }
        return pictures;
    }

    private string Train(string name, params string[] options)
    {
        var run = Path.Combine(temp.Path, name);
        var r = CliRunner.Run(["train", "--dataset", "folder", "--data", Pictures(), "--image-size", "8", "--channels", "1", "--out", run,
            "--steps", "2", "--batch-size", "4", "--sample-every", "0", "--sample-count", "2", .. options]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return run;
    }

    [Fact]
    public void A_class_conditional_run_samples_by_class_number_name_or_all_with_guidance()
    {
        var run = Train("classes", "--class-cond", "--cond-drop", "0.2");
        var config = RunConfig.Load(Path.Combine(run, CheckpointFiles.Config));
        Assert.Equal(["boots", "shirts"], config.Conditioning.ClassNames);
        Assert.Equal((2, 0.2), (config.Model.NumClasses, config.Conditioning.LabelDropout));
        Assert.Contains("2 classes (boots, shirts), label dropout 0.2", CliRunner.Run("info", run).Stdout);
        // The grid written at the end of training draws the classes in turn.
        Assert.Single(Directory.GetFiles(Path.Combine(run, "samples"), "*.png"));

        var grid = Path.Combine(temp.Path, "all.png");
        var all = CliRunner.Run("sample", "--checkpoint", run, "--class", "all", "--count", "3", "--guidance", "3", "--sampler", "ddim", "--steps", "4", "--out", grid, "--scale", "1");
        Assert.True(all.ExitCode == 0, all.Stderr);
        Assert.Contains("every class, guidance 3", all.Stdout);
        using (var image = ImageFiles.Load(grid, 1))
        {
            // Two rows (one per class) of three 8×8 images with ImageGrid's 2-pixel padding.
            Assert.Equal([1, 2 * 8 + 3 * 2, 3 * 8 + 4 * 2], image.shape);
        }
        var named = CliRunner.Run("sample", "--checkpoint", run, "--class", "Shirts", "--count", "2", "--steps", "3", "--out", Path.Combine(temp.Path, "shirts.png"));
        Assert.True(named.ExitCode == 0, named.Stderr);
        Assert.Contains("class shirts, guidance 1", named.Stdout);
        Assert.Equal(0, CliRunner.Run("sample", "--checkpoint", run, "--class", "0", "--guidance", "0", "--count", "2", "--steps", "3", "--out", Path.Combine(temp.Path, "zero.png")).ExitCode);

        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--class", "sandals", "--out", Path.Combine(temp.Path, "x.png")), "--class sandals is not a class of this model");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--class", "2", "--out", Path.Combine(temp.Path, "x.png")), "give 0..1");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--resume", "--out", run, "--cond-drop", "0.5"), "--cond-drop 0.5 contradicts");
    }

    [Fact]
    public void Unconditional_runs_refuse_classes_and_inpaint_and_edit_images()
    {
        var run = Train("plain");
        var source = Path.Combine(temp.Path, "pictures", "boots", "0.png");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--class", "1", "--out", Path.Combine(temp.Path, "x.png")), "needs a class-conditional model");
        CliRunner.AssertOneLineError(CliRunner.Run("sample", "--checkpoint", run, "--guidance", "2", "--out", Path.Combine(temp.Path, "x.png")), "--guidance needs a class-conditional model");
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--dataset", "fashion-mnist", "--class-cond", "--task", "super-resolution", "--out", Path.Combine(temp.Path, "no")), "cannot be combined");

        var picture = Path.Combine(temp.Path, "inpaint.png");
        var results = Path.Combine(temp.Path, "inpainted");
        var metrics = Path.Combine(temp.Path, "inpaint.json");
        var inpaint = CliRunner.Run("inpaint", "--checkpoint", run, "--image", source, "--mask-box", "2,2,4,4", "--steps", "10", "--jump-length", "2", "--resample", "2",
            "--count", "2", "--out", picture, "--out-dir", results, "--metrics", metrics);
        Assert.True(inpaint.ExitCode == 0, inpaint.Stderr);
        Assert.Contains("RMSE inside the mask", inpaint.Stdout);
        Assert.Equal(2, Directory.GetFiles(results, "*.png").Length);
        Assert.Contains("\"resample\": 2", File.ReadAllText(metrics));
        // The known pixels of every result are the source's, byte for byte.
        using (var original = ImageFiles.Load(source, 1))
        {
            foreach (var file in Directory.GetFiles(results, "*.png"))
            {
                using var completed = ImageFiles.Load(file, 1);
                Assert.True(Same.Bytes(completed.narrow(1, 0, 2), original.narrow(1, 0, 2)), file);
            }
        }
        var mask = Path.Combine(temp.Path, "mask.png");
        Ddpm.Tests.Data.TestData.WriteImage(mask, 6, 8, (x, y) => SKColors.White);
        CliRunner.AssertOneLineError(CliRunner.Run("inpaint", "--checkpoint", run, "--image", source, "--mask", mask, "--out", picture), "the mask");
        CliRunner.AssertOneLineError(CliRunner.Run("inpaint", "--checkpoint", run, "--image", source, "--mask-box", "6,6,4,4", "--out", picture), "--mask-box 6,6,4,4");
        CliRunner.AssertOneLineError(CliRunner.Run("inpaint", "--checkpoint", run, "--image", source, "--out", picture), "--mask");
        CliRunner.AssertOneLineError(CliRunner.Run("inpaint", "--checkpoint", run, "--image", source, "--mask-box", "1,1,2,2", "--sampler", "unipc", "--out", picture), "multistep");

        var edited = Path.Combine(temp.Path, "same");
        var unchanged = CliRunner.Run("img2img", "--checkpoint", run, "--image", source, "--strength", "0", "--out", Path.Combine(temp.Path, "img2img.png"), "--out-dir", edited);
        Assert.True(unchanged.ExitCode == 0, unchanged.Stderr);
        using (var original = ImageFiles.Load(source, 1))
        using (var same = ImageFiles.Load(Directory.GetFiles(edited, "*.png").Single(), 1))
            Assert.True(Same.Bytes(original, same));
        var halfway = CliRunner.Run("img2img", "--checkpoint", run, "--image", source, "--strength", "0.3", "--sampler", "ddim", "--steps", "10", "--out", Path.Combine(temp.Path, "img2img.png"));
        Assert.True(halfway.ExitCode == 0, halfway.Stderr);
        // DDIM-10 visits 900, 800, …, 0; from timestep 299 down: 200, 100 and 0.
        Assert.Contains("(3 model calls)", halfway.Stdout);
        CliRunner.AssertOneLineError(CliRunner.Run("img2img", "--checkpoint", run, "--image", source, "--strength", "1.5"), "--strength");
        CliRunner.AssertOneLineError(CliRunner.Run("upscale", "--checkpoint", run, "--image", source), "not a super-resolution model");
    }

    [Fact]
    public void A_super_resolution_run_takes_the_low_resolution_image_as_extra_channels_and_upscales()
    {
        var run = Train("sr", "--task", "super-resolution", "--scale", "2");
        var config = RunConfig.Load(Path.Combine(run, CheckpointFiles.Config));
        Assert.Equal((ConditioningTask.SuperResolution, 2, 1), (config.Conditioning.Task, config.Conditioning.Scale, config.Model.ConditionChannels));
        using (var model = DiffusionModel.Load(run))
            Assert.Equal([model.Network.Config.BaseChannels, 2, 3, 3], model.Network.state_dict()["conv_in.weight"].shape);

        var metrics = Path.Combine(temp.Path, "sr.json");
        var source = Path.Combine(temp.Path, "pictures", "shirts", "1.png");
        var full = CliRunner.Run("upscale", "--checkpoint", run, "--image", source, "--steps", "4", "--out", Path.Combine(temp.Path, "up.png"), "--metrics", metrics);
        Assert.True(full.ExitCode == 0, full.Stderr);
        Assert.Contains("PSNR (dB): SR3", full.Stdout);
        Assert.Contains("\"psnr_bicubic\"", File.ReadAllText(metrics));
        var low = Path.Combine(temp.Path, "low.png");
        Ddpm.Tests.Data.TestData.WriteImage(low, 4, 4, (x, y) => new SKColor(90, 90, 90));
        var small = CliRunner.Run("upscale", "--checkpoint", run, "--image", low, "--steps", "4", "--out", Path.Combine(temp.Path, "up-low.png"), "--out-dir", Path.Combine(temp.Path, "up"));
        Assert.True(small.ExitCode == 0, small.Stderr);
        Assert.DoesNotContain("PSNR", small.Stdout);
        using var upscaled = ImageFiles.Load(Directory.GetFiles(Path.Combine(temp.Path, "up"), "*.png").Single(), 1);
        Assert.Equal([1, 8, 8], upscaled.shape);
        CliRunner.AssertOneLineError(CliRunner.Run("train", "--dataset", "folder", "--data", Pictures(), "--image-size", "8", "--channels", "1", "--task", "super-resolution", "--scale", "3",
            "--out", Path.Combine(temp.Path, "sr3")), "scales by 2 or 4");
    }

    public void Dispose() => temp.Dispose();
}
