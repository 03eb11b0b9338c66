using System.Globalization;
using Ddpm.Runtime;

namespace Ddpm.Bench;

/// <summary>The harness's command line. Parsed by hand: a dozen flags do not need a parser library.</summary>
internal sealed record BenchOptions
{
    public const string Usage = """
        Ddpm benchmark harness: training images/s, sampling time and peak memory, each row in a fresh process,
        compared with the PyTorch 2.6 CPU reference.

        dotnet run -c Release --project bench/Ddpm.Bench -- [options]

          --rows SPEC        comma-separated row names or groups (a row runs if any token matches):
                             all (default), train, sample (forward + runs), forward, runs, small, cifar10,
                             fp32, bf16, growth; --list shows the rows
          --growth           also run the cost-growth rows (small architecture at 28/32/64 px, batch 16..128)
          --quick            1 warm-up, 2 iterations, tiny batches: checks that the harness works, not for figures
          --iterations N     timed iterations of the per-step rows (default 7 small, 5 cifar10, 5 growth)
          --warmup N         warm-up iterations (default 3 small, 2 cifar10, 2 growth)
          --runs N           timed complete sampling runs (default 1 for DDPM-1000, 3 for DDIM-50)
          --threads N        torch intra-op threads (default: one per core, as CpuTuning.Apply)
          --repeat N         measure each row N times, PyTorch beside it each time, and report the repeat with the
                             median ratio to PyTorch (or the median time): for a machine whose speed drifts
          --without LIST     turn CPU tunings off to measure what they buy: allocator, denormals, nnpack,
                             mkl-avx512, constants, collect, large-blocks
                             (comma-separated; the report records it)
          --out PATH         report path without extension; writes PATH.md and PATH.json
                             (default bench/results/latest, or bench/results/growth for --growth alone)
          --reference FILE   reference figures (default bench/reference/pytorch-2.6-cpu.json)
          --pytorch-root DIR also measure PyTorch 2.6 on this machine, next to each row: DIR is a root file system
                             with python3-torch (bench/reference/setup-pytorch.sh builds one); needs root (chroot)
          --pytorch-env LIST comma-separated NAME=VALUE pairs for the PyTorch runs
          --pytorch-tuned    with --pytorch-root: also measure PyTorch with Ddpm's allocator settings, given as
                             glibc's MALLOC_* variables (the strictest comparison on this machine)
                             (default OPENBLAS_CORETYPE=SkylakeX, as the reference)
          --list             list the rows and exit
          --row NAME         internal: run one row in this process and print its JSON on stdout
        """;

    public string? Rows { get; init; }
    public bool Growth { get; init; }
    public bool Quick { get; init; }
    public int? Iterations { get; init; }
    public int? Warmup { get; init; }
    public int? Runs { get; init; }
    public int? Threads { get; init; }

    /// <summary>How many times each row is measured (with PyTorch beside it each time); the report keeps the median.</summary>
    public int Repeat { get; init; } = 1;
    public IReadOnlyList<string> Without { get; init; } = [];
    public string? Out { get; init; }
    public string? Reference { get; init; }
    public string? PyTorchRoot { get; init; }
    public IReadOnlyList<string> PyTorchEnvironment { get; init; } = ["OPENBLAS_CORETYPE=SkylakeX"];

    /// <summary>Whether PyTorch is also measured with Ddpm's allocator settings (<c>--pytorch-tuned</c>).</summary>
    public bool PyTorchTuned { get; init; }
    public bool List { get; init; }
    public bool Help { get; init; }
    public string? Row { get; init; }

    /// <summary>The row selection: the given one, else all rows unless only --growth was asked for.</summary>
    public string EffectiveRows => Rows ?? (Growth ? "" : "all");

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{a} needs a value.");
            int Positive()
            {
                var v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
                    ? n
                    : throw new ArgumentException($"{a} needs a non-negative integer (got '{v}').");
            }
            o = a switch
            {
                "--rows" => o with { Rows = Value() },
                "--growth" => o with { Growth = true },
                "--quick" => o with { Quick = true },
                "--iterations" => o with { Iterations = Math.Max(1, Positive()) },
                "--warmup" => o with { Warmup = Positive() },
                "--runs" => o with { Runs = Math.Max(1, Positive()) },
                "--threads" => o with { Threads = Math.Max(1, Positive()) },
                "--repeat" => o with { Repeat = Math.Max(1, Positive()) },
                "--without" => o with { Without = ParseWithout(Value()) },
                "--out" => o with { Out = Value() },
                "--reference" => o with { Reference = Value() },
                "--pytorch-root" => o with { PyTorchRoot = Value() },
                "--pytorch-env" => o with { PyTorchEnvironment = ParseEnvironment(Value()) },
                "--pytorch-tuned" => o with { PyTorchTuned = true },
                "--list" => o with { List = true },
                "--row" => o with { Row = Value() },
                "-h" or "--help" => o with { Help = true },
                _ => throw new ArgumentException($"Unknown option '{a}'. Try --help."),
            };
        }
        return o;
    }

    private static string[] ParseEnvironment(string value)
    {
        var pairs = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var p in pairs)
        {
            if (p.IndexOf('=', StringComparison.Ordinal) <= 0) throw new ArgumentException($"--pytorch-env takes NAME=VALUE pairs (got '{p}').");
        }
        return pairs;
    }

    /// <summary>The tunings that can be turned off with --without.</summary>
    public static IReadOnlyList<string> Tunings { get; } = ["allocator", "denormals", "nnpack", "mkl-avx512", "constants", "collect", "large-blocks"];

    private static string[] ParseWithout(string value)
    {
        var names = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
        {
            if (!Tunings.Contains(n)) throw new ArgumentException($"--without takes {string.Join(", ", Tunings)} (got '{n}').");
        }
        return names;
    }

    /// <summary>The CPU settings of a row: every tuning on except those named by --without.</summary>
    public CpuTuningOptions CpuSettings => CpuTuningOptions.Default with
    {
        Threads = Threads,
        TuneAllocator = !Without.Contains("allocator"),
        FlushDenormals = !Without.Contains("denormals"),
        DisableNnpack = !Without.Contains("nnpack"),
        MklAvx512 = !Without.Contains("mkl-avx512"),
        KeepConstantsAccessed = !Without.Contains("constants"),
        CollectAfterEachStep = !Without.Contains("collect"),
        KeepLargeBlocksInHeap = !Without.Contains("large-blocks"),
    };

    /// <summary>The options a child process needs to rebuild the same row.</summary>
    public IEnumerable<string> ChildArguments(string row)
    {
        yield return "--row";
        yield return row;
        if (Quick) yield return "--quick";
        if (Iterations is { } n) { yield return "--iterations"; yield return n.ToString(CultureInfo.InvariantCulture); }
        if (Warmup is { } w) { yield return "--warmup"; yield return w.ToString(CultureInfo.InvariantCulture); }
        if (Runs is { } r) { yield return "--runs"; yield return r.ToString(CultureInfo.InvariantCulture); }
        if (Threads is { } t) { yield return "--threads"; yield return t.ToString(CultureInfo.InvariantCulture); }
        if (Without.Count > 0) { yield return "--without"; yield return string.Join(',', Without); }
    }
}
