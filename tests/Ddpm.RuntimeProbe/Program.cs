using System.Runtime.InteropServices;
using System.Text.Json;
using Ddpm.Checkpoints;
using Ddpm.Data;
using Ddpm.Diffusion;
using Ddpm.Models;
using Ddpm.Runtime;
using Ddpm.Sampling;
using Ddpm.Schedules;
using Ddpm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Ddpm.RuntimeProbe;

/// <summary>
/// Builds a tiny U-Net, trains it a few steps and samples from it (after <see cref="CpuTuning.Apply"/> when run with
/// <c>--apply</c>), then prints as JSON what the process-wide CPU tuning changes, observed from outside the tuning's own
/// flags where the process allows: the keeper thread's name, the floating-point mode of this thread, the target of
/// libtorch's PLT slots for MKL's vendor check, whether glibc maps a 64 MiB block, NNPACK's switch and the gen-2
/// collections the steps caused. With <c>--apply</c> it also checks the tuning's details (<see cref="TuningChecks"/>).
/// </summary>
internal static unsafe partial class Program
{
    private const int Steps = 3;

    private static int Main(string[] args)
    {
        var apply = args.Contains("--apply");
        if (apply) CpuTuning.Apply();

        var gen2Before = GC.CollectionCount(2);
        RunTinyModel();
        var gen2Steps = GC.CollectionCount(2) - gen2Before;

        var report = new ProbeReport
        {
            Applied = CpuTuning.Applied,
            Threads = ThreadNames(),
            DenormalProduct = DenormalProduct(),
            MklSlotsInLibraries = MklSlotsInLibraries(),
            LargeBlockMapped = LargeBlockMapped(),
            NnpackEnabled = at_Context_userEnabledNNPACK(at_globalContext()),
            Gen2Collections = gen2Steps,
            EndSteps = 2 * Steps,
            Checks = apply ? TuningChecks.Run() : null,
        };
        Console.WriteLine(JsonSerializer.Serialize(report, ProbeJson.Default.ProbeReport));
        return 0;
    }

    /// <summary><see cref="Steps"/> training steps and a <see cref="Steps"/>-step DDIM sample of an 8×8 grey U-Net.</summary>
    private static void RunTinyModel()
    {
        var config = new RunConfig
        {
            Preset = "tiny",
            Model = new UNetConfig
            {
                ImageSize = 8, InChannels = 1, OutChannels = 1, BaseChannels = 32, ChannelMultipliers = [1, 2],
                NumResBlocks = 1, AttentionResolutions = [4], Dropout = 0.1,
            },
            Diffusion = new DiffusionConfig { Schedule = new ScheduleConfig { Timesteps = 100 } },
            Training = new TrainingConfig { Steps = Steps, BatchSize = 4, WarmupSteps = 1, Seed = 7, SampleEvery = 0, CheckpointEvery = 0 },
            Data = new DataConfig { Dataset = "probe" },
        };
        var images = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, 64).Select(j => (byte)(i * 31 + j * 7)).ToArray()).ToList();
        var data = new ByteImageDataset("probe", 1, 8, 8, images, Enumerable.Range(0, 8).ToList());
        using var trainer = new Trainer(config, data);
        for (var i = 0; i < Steps; i++) trainer.TrainStep();
        trainer.EmaModel.eval();
        var sampler = SamplerSettings.Ddim(Steps).Create(trainer.Diffusion);
        var pipeline = new SamplingPipeline((x, t) => trainer.EmaModel.forward(x, t), sampler);
        using var samples = pipeline.Generate(new SampleRequest(2, 1, 8, 8, Seed: 1));
    }

    private static List<string> ThreadNames() =>
        Directory.GetDirectories("/proc/self/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim()).ToList();

    /// <summary>1e-30 × 1e-10 on this thread: a denormal (about 1e-40) unless denormals are flushed to zero.</summary>
    private static float DenormalProduct()
    {
        using var tiny = tensor(1e-30f);
        using var product = tiny.mul(1e-10f);
        return product.item<float>();
    }

    /// <summary>Whether every PLT slot of MKL's vendor check points into a mapped shared library (not redirected).</summary>
    private static bool MklSlotsInLibraries()
    {
        var library = LoadedLibraries.Find(name => name == "libtorch_cpu.so") ?? throw new InvalidOperationException("libtorch_cpu.so is not loaded");
        var libraries = LoadedLibraries.All().Where(m => m.Path.Contains(".so", StringComparison.Ordinal)).ToList();
        return MklDispatch.JumpSlots(library.Path, ["mkl_serv_intel_cpu_true", "mkl_serv_intel_cpu"])
            .Select(offset => (ulong)*(nint*)(library.Base + (nint)offset))
            .All(target => libraries.Any(m => (ulong)m.Start <= target && target < (ulong)m.End));
    }

    /// <summary>Whether glibc serves a 64 MiB malloc with its own mapping (mallinfo2's mapped bytes grow).</summary>
    private static bool LargeBlockMapped()
    {
        var before = mallinfo2().hblkhd;
        var block = NativeMemory.Alloc(64 << 20);
        var after = mallinfo2().hblkhd;
        NativeMemory.Free(block);
        return after >= before + (64 << 20);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [LibraryImport("libc")]
    private static partial MallInfo2 mallinfo2();

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial nint at_globalContext();

    [LibraryImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool at_Context_userEnabledNNPACK(nint context);
}

/// <summary>What the probe observed.</summary>
internal sealed record ProbeReport
{
    public bool Applied { get; init; }
    public List<string> Threads { get; init; } = [];
    public float DenormalProduct { get; init; }
    public bool MklSlotsInLibraries { get; init; }
    public bool LargeBlockMapped { get; init; }
    public bool NnpackEnabled { get; init; }
    public int Gen2Collections { get; init; }
    public int EndSteps { get; init; }
    public TuningChecks? Checks { get; init; }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(ProbeReport))]
internal sealed partial class ProbeJson : System.Text.Json.Serialization.JsonSerializerContext;
