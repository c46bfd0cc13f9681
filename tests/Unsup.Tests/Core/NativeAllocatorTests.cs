using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Unsup.Tests.Core;

// alone: a collection started by a test running beside it could promote the tensors past gen 0 before the call
[Collection(ProcessCountersCollection.Name)]
public class NativeAllocatorTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    static List<WeakReference> DropUndisposedTensors(int count) =>
        // outside any dispose scope: only a finalizer frees their native tensors
        Enumerable.Range(0, count).Select(_ => new WeakReference(ones(3))).ToList();

    [Fact]
    public void CollectUndisposed_frees_the_native_objects_only_finalizers_would()
    {
        // (the process-wide handle count is no measure here: earlier tests' leftovers are finalized at any time)
        var dropped = DropUndisposedTensors(50);
        NativeAllocator.CollectUndisposed();
        Assert.Equal(0, dropped.Count(w => w.IsAlive));
    }
}

[Collection(ProcessCountersCollection.Name)]
public class NativeAllocatorReuseTests
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2 { public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; }

    [DllImport("libc")] static extern MallInfo2 mallinfo2();

    /// <summary>Allocates <paramref name="bytes"/> (malloc on Linux), kept in <paramref name="held"/>; true when it got its own mapping.</summary>
    static bool AllocateMapped(long bytes, List<nint> held)
    {
        long before = (long)mallinfo2().hblkhd;
        held.Add(Marshal.AllocHGlobal((nint)bytes));
        return (long)mallinfo2().hblkhd - before >= bytes;
    }

    [SkippableFact]
    public void ReuseBlocksUpTo_serves_mid_sized_blocks_from_the_heap_only_inside_its_scope()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null, "glibc's mallopt only");
        NativeAllocator.Configure();   // as every Unsup program starts: 2 MB threshold
        const long block = 4 << 20;
        var held = new List<nint>();
        try
        {
            // Free chunks that earlier tests left in this thread's heap would serve a 4 MB request whatever the
            // threshold: hold them until a request has to go to the system, which at 2 MB means its own mapping.
            int tries = 0;
            while (!AllocateMapped(block, held))
                Assert.True(++tries < 2000, "the heap kept serving 4 MB blocks from free chunks");
            using (NativeAllocator.ReuseBlocksUpTo(16 << 20))
            {
                using (NativeAllocator.ReuseBlocksUpTo(16 << 20)) { }   // nested scopes: the outer one still holds
                Assert.False(AllocateMapped(block, held), "inside the scope a 4 MB block should come from the heap");
            }
            Assert.True(AllocateMapped(block, held), "the 2 MB threshold should be restored when the scope ends");
        }
        finally
        {
            foreach (var p in held) Marshal.FreeHGlobal(p);
        }
    }
}
