using System.Runtime.InteropServices;

namespace Unsup;

/// <summary>
/// How libtorch's CPU memory comes from the operating system, set once at start-up before the first tensor.
/// </summary>
/// <remarks>
/// Two Linux defaults cost Unsup time and flat memory on volumes (measured in bench/results/memory.md and speed.md):
/// <list type="bullet">
/// <item>Every fresh block above glibc's mmap threshold is new memory that the kernel zero-fills in 4 KB page faults
/// on first touch; a 160x192x224 registration allocates tens of 80 MB fields, and the faults took about a fifth of
/// its time. libtorch can ask for transparent huge pages instead (<c>THP_MEM_ALLOC_ENABLE</c>, read once at its
/// first large allocation; the kernel's default "madvise" mode honours it): 512 times fewer faults.</item>
/// <item>glibc raises its mmap threshold each time a large block is freed (up to 32 MB), after which blocks below it
/// come from the heap, which fragments and returns memory only from its top: a SYMNet training run's resident memory
/// crept up by 6-9 % over 500 steps with no leak behind it (with mmap off entirely it stayed flat, at a higher level).
/// A fixed threshold keeps large tensors in their own mappings, returned when freed (and cut that run's memory by a
/// quarter); <see cref="ReleaseFreed"/> after each training step hands the heap's free pages back.</item>
/// </list>
/// Both can be overridden from outside: an explicit <c>THP_MEM_ALLOC_ENABLE</c> or <c>GLIBC_TUNABLES</c> in the
/// environment wins.
/// </remarks>
public static class NativeAllocator
{
    const int M_MMAP_THRESHOLD = -3;
    const int M_TRIM_THRESHOLD = -1;
    const int DefaultTrimThresholdBytes = 128 << 10;

    /// <summary>Blocks at least this large get their own mapping (and huge pages); smaller ones come from the heap.</summary>
    public const int MmapThresholdBytes = 2 << 20;

    /// <summary>What <see cref="Configure"/> did, for `unsup info`.</summary>
    public static string Description { get; private set; } = "system defaults";

    [DllImport("libc", EntryPoint = "setenv")] static extern int SetEnv(string name, string value, int overwrite);
    [DllImport("libc", EntryPoint = "mallopt")] static extern int MallOpt(int param, int value);
    [DllImport("libc", EntryPoint = "malloc_trim")] static extern int MallocTrim(nuint pad);

    static bool glibc = OperatingSystem.IsLinux();
    static bool thresholdFixed;
    static int reuseScopes;
    static readonly object Gate = new();

    /// <summary>
    /// Returns the free pages inside the native heap to the system (glibc's malloc_trim), after
    /// <see cref="CollectUndisposed"/>; training calls it after every step so a long run holds flat memory.
    /// A few milliseconds on a heap of a few hundred MB.
    /// </summary>
    public static void ReleaseFreed()
    {
        CollectUndisposed();
        if (!glibc || Volatile.Read(ref reuseScopes) > 0) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { glibc = false; }
    }

    /// <summary>
    /// While the returned scope lives, blocks up to <paramref name="bytes"/> come from the heap and stay in it between
    /// steps (no trim): a training loop whose every step allocates the same few-MB activations then reuses them instead
    /// of mapping and zero-filling them afresh. MoCo at width 8 (3.2 MB activations): 250 → 545 img/s, peak RSS
    /// 284 → 354 MB (PyTorch 393; the moco-step rows of bench/results/speed.md). Blocks above it keep their own mappings; the end of
    /// the scope restores the fixed threshold and trims. Does nothing when the threshold is not Unsup's
    /// (<c>GLIBC_TUNABLES</c> given, or not glibc).
    /// </summary>
    public static IDisposable ReuseBlocksUpTo(int bytes)
    {
        if (!thresholdFixed || bytes <= MmapThresholdBytes) return new Scope(null);
        lock (Gate)
        {
            if (reuseScopes++ == 0)
            {
                MallOpt(M_TRIM_THRESHOLD, int.MaxValue);
                MallOpt(M_MMAP_THRESHOLD, bytes);
            }
        }
        return new Scope(() =>
        {
            lock (Gate)
            {
                if (--reuseScopes > 0) return;
                MallOpt(M_MMAP_THRESHOLD, MmapThresholdBytes);
                MallOpt(M_TRIM_THRESHOLD, DefaultTrimThresholdBytes);
                MallocTrim(0);
            }
        });
    }

    sealed class Scope(Action? end) : IDisposable
    {
        Action? end = end;
        public void Dispose() { Interlocked.Exchange(ref end, null)?.Invoke(); }
    }

    /// <summary>
    /// A gen-0 collection and the finalizers it queues (under a millisecond): TorchSharp objects nobody disposes (the
    /// scalar behind <c>tensor * 2.0</c>, index and option objects) each hold a small native allocation that only a
    /// finalizer frees, and the GC, which sees a few bytes of managed memory each, may not run for thousands of
    /// batches. Scattered through the native heap they keep freed tensor blocks from merging and being reused: MoCo's
    /// augmentation grew by about 1 MB per batch of 256 images until a collection ran (bench/results/speed-profiles.md;
    /// with it, the augment row's peak RSS is 222 MB against 343 before).
    /// Loops of many small tensor operations (data pipelines) call it once per batch.
    /// </summary>
    public static void CollectUndisposed()
    {
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Call before the first tensor is made (first line of a program); does nothing off Linux/glibc.</summary>
    public static void Configure()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var parts = new List<string>();
            // Environment.SetEnvironmentVariable changes only .NET's copy; libtorch reads the C environment
            if (Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") is null && SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0) == 0)
                parts.Add("huge pages");
            if (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null && MallOpt(M_MMAP_THRESHOLD, MmapThresholdBytes) == 1)
            {
                thresholdFixed = true;
                parts.Add($"mmap threshold {MmapThresholdBytes >> 20} MB");
            }
            if (parts.Count > 0) Description = string.Join(", ", parts);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl or another libc without these: the defaults stay, only speed and memory flatness differ
            glibc = false;
        }
    }
}
