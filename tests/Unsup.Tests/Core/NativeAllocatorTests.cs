using System.Runtime.InteropServices;

namespace Unsup.Tests.Core;

/// <summary>Counts the process's mmapped blocks, so it runs alone: any other test's large tensor would change them.</summary>
[Collection(NativeAllocatorCollection.Name)]
public class NativeAllocatorTests
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2 { public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost; }

    [DllImport("libc", EntryPoint = "mallinfo2")] static extern MallInfo2 Info();

    /// <summary>Whether a malloc of this many MB got its own mapping (rather than heap memory).</summary>
    static bool AllocationIsMapped(int mb)
    {
        var before = Info().Hblks;
        var p = Marshal.AllocHGlobal(mb << 20);
        var during = Info().Hblks;
        Marshal.FreeHGlobal(p);
        return during == before + 1;
    }

    [SkippableFact]
    public void ReuseScopeKeepsLargeBlocksInTheHeapAndRestoresTheThreshold()
    {
        Prerequisite.Require(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null, "glibc with its defaults");
        NativeAllocator.Configure();
        Assert.True(AllocationIsMapped(4), "after Configure a 4 MB block is above the fixed 2 MB threshold");
        using (NativeAllocator.ReuseBlocksUpTo(64 << 20))
        {
            Assert.False(AllocationIsMapped(8), "inside the scope an 8 MB block comes from the heap");
            using (NativeAllocator.ReuseBlocksUpTo(64 << 20)) { }
            Assert.False(AllocationIsMapped(8), "a nested scope's end does not end the outer one");
        }
        // larger than any chunk the scope left free in the heap (malloc reuses those whatever the threshold)
        Assert.True(AllocationIsMapped(16), "the fixed threshold is back after the scope");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeAllocatorCollection { public const string Name = "native allocator"; }
