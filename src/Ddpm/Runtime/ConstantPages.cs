namespace Ddpm.Runtime;

/// <summary>
/// Keeps the pages of libtorch's constant tables (its <c>.rodata</c>) marked as accessed, by reading one byte of each
/// page from a background thread every <see cref="Period"/>.
/// <para>
/// Why: libtorch's vectorised math (SLEEF's <c>expf</c> behind SiLU, sigmoid and their gradients) ends with an
/// AVX-512 masked load of a constant whose mask is almost always empty. A masked load that touches a page whose
/// page-table "accessed" bit is clear cannot set that bit, so the CPU takes a microcode assist on every call instead.
/// Kernels that sample memory accesses (DAMON, idle-page tracking, reclaim scans) clear those bits every few seconds,
/// and nothing else reads that page, so the bit stays clear: SiLU on 1.6 M floats then takes 9.5 ms instead of 0.23 ms,
/// and a training step or sampling run becomes up to 3× slower, at random moments of a long run. One ordinary read sets
/// the bit again. A sweep costs about 1 ms of one core.
/// </para>
/// <para>
/// Only pages already mapped into this process are read (their "present" bit in <c>/proc/self/pagemap</c>), so the
/// sweeps never fault in, and add to the resident set, tables the process does not use.
/// </para>
/// </summary>
internal static unsafe class ConstantPages
{
    /// <summary>Time between sweeps.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(100);

    private const int PageSize = 4096;
    private static readonly Lock Gate = new();
    private static (nint Start, long Length)[] ranges = [];
    private static Thread? thread;
    private static volatile bool enabled;
    private static long sweeps;
    private static int sink;

    /// <summary>Whether the sweeps run.</summary>
    public static bool Active => enabled && thread is not null;

    /// <summary>Why nothing is kept warm (no libtorch_cpu.so mapped, an unexpected layout), or null.</summary>
    public static string? Reason { get; private set; }

    /// <summary>Sweeps done since start-up.</summary>
    public static long Sweeps => Interlocked.Read(ref sweeps);

    /// <summary>The address ranges swept: the <c>.rodata</c> sections of libtorch_cpu.so as mapped in this process.</summary>
    public static IReadOnlyList<(nint Start, long Length)> Ranges => ranges;

    /// <summary>Starts the background sweeps (once per process) or resumes them after <see cref="Stop"/>.</summary>
    public static void Start()
    {
        lock (Gate)
        {
            enabled = true;
            if (thread is not null || Reason is not null) return;
            try
            {
                ranges = Locate();
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                ranges = [];
                Reason = e.Message;
            }
            if (ranges.Length == 0)
            {
                Reason ??= "no libtorch_cpu.so constant tables mapped";
                return;
            }
            thread = new Thread(Run) { IsBackground = true, Name = "ddpm constant pages", Priority = ThreadPriority.BelowNormal };
            thread.Start();
        }
    }

    /// <summary>Pauses the sweeps (to measure what they buy).</summary>
    public static void Stop() => enabled = false;

    /// <summary>Reads one byte of every page of <see cref="Ranges"/> that is mapped into this process; returns how many.</summary>
    public static int Sweep()
    {
        lock (Gate)
        {
            var sum = 0;
            var touched = 0;
            foreach (var (start, length) in ranges)
            {
                var pages = (int)((length + PageSize - 1) / PageSize);
                var present = Present(start, pages);
                for (var i = 0; i < pages; i++)
                {
                    if (present is not null && (present[i] >> 63) == 0) continue;
                    sum += *(byte*)(start + (nint)i * PageSize);
                    touched++;
                }
            }
            sink = sum;
            Interlocked.Increment(ref sweeps);
            return touched;
        }
    }

    /// <summary>The pagemap entries of <paramref name="pages"/> pages from <paramref name="start"/>, or null when unreadable.</summary>
    private static ulong[]? Present(nint start, int pages)
    {
        if (pagemapUnreadable) return null;
        try
        {
            pagemap ??= File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
            // One buffer for every sweep: allocating one each time would grow the managed heap by megabytes.
            if (entries is null || entries.Length < pages) entries = new ulong[pages];
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries.AsSpan(0, pages));
            var read = RandomAccess.Read(pagemap, bytes, (long)((ulong)start / PageSize) * sizeof(ulong));
            return read == bytes.Length ? entries : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            pagemapUnreadable = true; // every page is then read
            return null;
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle? pagemap;
    private static ulong[]? entries;
    private static bool pagemapUnreadable;

    private static void Run()
    {
        while (true)
        {
            if (enabled) _ = Sweep();
            Thread.Sleep(Period);
        }
    }

    /// <summary>
    /// The <c>.rodata*</c> sections of the loaded libtorch_cpu.so, page-aligned, each checked to lie in readable
    /// mappings of that file and to hold the bytes the file holds there.
    /// </summary>
    internal static (nint Start, long Length)[] Locate()
    {
        if (LoadedLibraries.Find(name => name == "libtorch_cpu.so") is not { } library) return [];
        var mappings = LoadedLibraries.Mappings(library.Path);
        using var file = File.OpenRead(library.Path);
        var found = new List<(nint, long)>();
        foreach (var section in ElfSections.Read(file))
        {
            if (!section.Name.StartsWith(".rodata", StringComparison.Ordinal) || section.Size <= 0) continue;
            if ((section.Flags & ElfSections.Alloc) == 0 || (section.Flags & (ElfSections.Write | ElfSections.Execute)) != 0) continue;
            var start = library.Base + (nint)section.Address;
            var end = start + (nint)section.Size;
            if (!mappings.Any(m => m.Start <= start && end <= m.End && m.Permissions.StartsWith('r')))
                throw new InvalidDataException($"{library.Path}: {section.Name} is not where its section header puts it");
            var probe = ElfSections.ReadBytes(file, section.Offset, Math.Min(section.Size, 256));
            if (!new ReadOnlySpan<byte>((void*)start, probe.Length).SequenceEqual(probe))
                throw new InvalidDataException($"{library.Path}: {section.Name} in memory differs from the file");
            var first = start & ~(nint)(PageSize - 1);
            found.Add((first, end - first));
        }
        return found.ToArray();
    }
}
