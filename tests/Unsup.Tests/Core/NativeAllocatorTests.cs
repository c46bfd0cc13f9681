using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Unsup.Tests.Core;

[Collection(LiveTensorCountCollection.Name)]
public class NativeAllocatorTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void DropUndisposedTensors(int count)
    {
        for (int i = 0; i < count; i++) ones(3);   // outside any dispose scope: only a finalizer frees it
    }

    [Fact]
    public void CollectUndisposed_frees_the_native_objects_only_finalizers_would()
    {
        NativeAllocator.CollectUndisposed();
        long before = Tensor.TotalCount;
        DropUndisposedTensors(50);
        Assert.Equal(before + 50, Tensor.TotalCount);
        NativeAllocator.CollectUndisposed();
        Assert.Equal(before, Tensor.TotalCount);
    }
}

[Collection(LiveTensorCountCollection.Name)]
public class NativeAllocatorReuseTests
{
    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2 { public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost; }

    [DllImport("libc")] static extern MallInfo2 mallinfo2();

    /// <summary>Growth of the bytes in blocks with their own mapping while one block of <paramref name="mb"/> MB is held.</summary>
    static long MappedDuringBlock(int mb)
    {
        long before = (long)mallinfo2().hblkhd;
        var block = Marshal.AllocHGlobal(mb << 20);   // malloc on Linux
        try { return (long)mallinfo2().hblkhd - before; }
        finally { Marshal.FreeHGlobal(block); }
    }

    [SkippableFact]
    public void ReuseBlocksUpTo_serves_mid_sized_blocks_from_the_heap_only_inside_its_scope()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("GLIBC_TUNABLES") is null, "glibc's mallopt only");
        NativeAllocator.Configure();   // as every Unsup program starts: 2 MB threshold
        Assert.True(MappedDuringBlock(4) >= 4 << 20, "a 4 MB block should get its own mapping at the fixed 2 MB threshold");
        using (NativeAllocator.ReuseBlocksUpTo(16 << 20))
        {
            using (NativeAllocator.ReuseBlocksUpTo(16 << 20)) { }   // nested scopes: the outer one still holds
            Assert.Equal(0, MappedDuringBlock(4));
        }
        // (a new 4 MB block could reuse the one freed inside the scope, whose pages the trim returned: ask for more)
        Assert.True(MappedDuringBlock(6) >= 6 << 20, "the threshold should be restored when the scope ends");
    }
}
