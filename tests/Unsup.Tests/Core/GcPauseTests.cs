using System.Runtime;
using static TorchSharp.torch;

namespace Unsup.Tests.Core;

/// <summary>GcPause keeps collections (started by any thread) from freeing TorchSharp's on-the-fly Scalars mid-call.</summary>
[Collection(ProcessCountersCollection.Name)]   // a collection anywhere in the process would end the region
public class GcPauseTests
{
    /// <summary>Another thread allocating garbage until <paramref name="stop"/>; <paramref name="perMs"/> KB per millisecond.</summary>
    static Thread Churn(Func<bool> stop, int perMs)
    {
        var t = new Thread(() =>
        {
            var keep = new List<byte[]>();
            while (!stop())
            {
                for (int i = 0; i < perMs; i++) keep.Add(new byte[1024]);
                if (keep.Count > 1000) keep.Clear();
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        t.Start();
        return t;
    }

    [Fact]
    public void No_collection_runs_inside_the_scope_while_another_thread_allocates()
    {
        bool stop = false;
        int before, inside;
        using (GcPause.Begin())
        {
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            before = GC.CollectionCount(0);
            var churn = Churn(() => stop, 64);
            Thread.Sleep(300);   // ~19 MB of garbage: several gen-0 budgets, below GcPause.BudgetBytes
            stop = true;
            churn.Join();
            inside = GC.CollectionCount(0);
        }
        Assert.Equal(before, inside);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void Nested_scope_does_nothing_and_the_outer_one_stays_in_force()
    {
        using (GcPause.Begin())
        {
            using (GcPause.Begin()) { }
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        }
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        // a region the runtime already ended (here: a forced collection) is not ended twice
        var scope = GcPause.Begin();
        GC.Collect();
        scope.Dispose();
    }
}
