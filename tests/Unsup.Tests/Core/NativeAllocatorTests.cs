using System.Runtime.CompilerServices;
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
