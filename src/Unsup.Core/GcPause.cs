using System.Runtime;

namespace Unsup;

/// <summary>
/// Holds off garbage collection while a step's tensor operations run. TorchSharp hands native code the handle of a
/// Scalar it creates on the fly (the 0.5 in <c>tensor + 0.5</c>, the alpha of every add) and does not keep that Scalar
/// alive through the call, so a collection started by another thread meanwhile can finalize it and free its memory
/// under libtorch: "Unknown scalar type" (a MoCo pretraining run died so at step 15; in a scratch program, not kept in the repository, a loop of
/// <c>tensor + 0.5</c> on a [256, 1024] tensor beside a thread allocating 100 KB per millisecond failed within 2-12 s in
/// each of five tries, and ran 30 s twice without failing inside this scope). Inside the scope no collection runs unless managed
/// allocations exceed <see cref="BudgetBytes"/>; the step's end collects as before (<see cref="NativeAllocator.ReleaseFreed"/>). Starting and ending a region
/// cost about 0.04 ms in the same scratch program (500 in a row beside a 20 MB live heap).
/// </summary>
public static class GcPause
{
    /// <summary>Managed bytes the scope may allocate without a collection (a MoCo step allocates well under 1 MB).</summary>
    public const long BudgetBytes = 64L << 20;

    /// <summary>Starts the pause; disposing ends it. Nested or concurrent calls get a scope that does nothing.</summary>
    public static IDisposable Begin()
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return Nothing.Instance;
        try { return GC.TryStartNoGCRegion(BudgetBytes) ? new Region() : Nothing.Instance; }
        catch (InvalidOperationException) { return Nothing.Instance; }   // another thread started one first
    }

    sealed class Region : IDisposable
    {
        int ended;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref ended, 1) != 0 || GCSettings.LatencyMode != GCLatencyMode.NoGCRegion) return;
            // the region also ends by itself when the budget ran out or something called GC.Collect: nothing to end then
            try { GC.EndNoGCRegion(); } catch (InvalidOperationException) { }
        }
    }

    sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();
        public void Dispose() { }
    }
}
