using System.Diagnostics;

namespace Unsup.Distributed;

/// <summary>
/// The processes of one job and the collective operations data-parallel training needs. <see cref="World"/> is a
/// single process unless the program was started by an MPI launcher (mpiexec, srun) with more than one rank; only
/// then is MPI loaded (see <see cref="MpiLaunch"/>). Every rank must call the same collectives in the same order.
/// Buffers are plain host arrays: on GPU machines tensors travel through host memory (no CUDA-aware path).
/// </summary>
public abstract class Communicator : IDisposable
{
    static readonly Lazy<Communicator> world = new(MpiLaunch.CreateWorld);

    /// <summary>This process's view of the job (created on first use; a single process without an MPI launcher).</summary>
    public static Communicator World => world.Value;
    /// <summary>True once <see cref="World"/> exists and spans several processes (never creates it).</summary>
    public static bool WorldIsDistributed => world.IsValueCreated && world.Value.Size > 1;

    public abstract int Rank { get; }
    public abstract int Size { get; }
    public bool IsRoot => Rank == 0;
    public bool IsDistributed => Size > 1;

    /// <summary>Seconds spent inside collectives, and the payload bytes this rank contributed (for the scaling bench).</summary>
    public double CommSeconds { get; private set; }
    public long CommBytes { get; private set; }

    /// <summary>recv[i] = Σ over ranks of send[i]; send and recv have the same length (they may not be the same array).</summary>
    public void AllreduceSum(float[] send, float[] recv) => Timed(send.Length * 4L, () => AllreduceSumCore(send, recv));
    public void AllreduceSum(double[] send, double[] recv) => Timed(send.Length * 8L, () => AllreduceSumCore(send, recv));
    /// <summary>recv = the ranks' send arrays one after another in rank order (recv.Length = Size · send.Length).</summary>
    public void Allgather(float[] send, float[] recv) => Timed(send.Length * 4L, () => AllgatherCore(send, recv));
    public void Allgather(int[] send, int[] recv) => Timed(send.Length * 4L, () => AllgatherCore(send, recv));
    public void Allgather(byte[] send, byte[] recv) => Timed(send.Length, () => AllgatherCore(send, recv));
    /// <summary>Every rank's <paramref name="buffer"/> becomes <paramref name="root"/>'s.</summary>
    public void Broadcast(int[] buffer, int root = 0) => Timed(buffer.Length * 4L, () => BroadcastCore(buffer, root));
    public void Barrier() => Timed(0, BarrierCore);

    /// <summary>Ends every rank of the job now (after a rank failed, so the others never wait on it forever).</summary>
    public abstract void Abort(int exitCode);

    /// <summary>
    /// Whether item <paramref name="index"/> of a global list belongs to this rank. Shares are strided (item i goes to
    /// rank i mod N, like PyTorch's DistributedSampler): with SplitBatchNorm's interleaved groups (sample i in group
    /// i mod S) a rank holding S/N groups then sees exactly S/N of one process's groups.
    /// </summary>
    public bool Owns(long index) => index % Size == Rank;

    /// <summary>The number of items of <paramref name="total"/> each rank gets, which must divide evenly.</summary>
    public long ShareSize(long total, string what)
    {
        if (total % Size != 0) throw new UnsupException($"{what} {total} must be a multiple of the {Size} processes");
        return total / Size;
    }

    /// <summary>Every rank's text, in rank order (e.g. summary rows gathered at the end of a job).</summary>
    public string[] AllgatherText(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var lengths = new int[Size];
        Allgather([bytes.Length], lengths);
        int max = lengths.Max();
        var padded = new byte[max];
        bytes.CopyTo(padded, 0);
        var all = new byte[max * Size];
        Allgather(padded, all);
        return Enumerable.Range(0, Size).Select(r => System.Text.Encoding.UTF8.GetString(all, r * max, lengths[r])).ToArray();
    }

    void Timed(long bytes, Action a)
    {
        long t0 = Stopwatch.GetTimestamp();
        a();
        CommSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
        CommBytes += bytes;
    }

    protected abstract void AllreduceSumCore(float[] send, float[] recv);
    protected abstract void AllreduceSumCore(double[] send, double[] recv);
    protected abstract void AllgatherCore(float[] send, float[] recv);
    protected abstract void AllgatherCore(int[] send, int[] recv);
    protected abstract void AllgatherCore(byte[] send, byte[] recv);
    protected abstract void BroadcastCore(int[] buffer, int root);
    protected abstract void BarrierCore();
    public virtual void Dispose() { }
}

/// <summary>The job of one process: every collective is a copy.</summary>
public sealed class SingleProcess : Communicator
{
    public override int Rank => 0;
    public override int Size => 1;
    public override void Abort(int exitCode) { }
    protected override void AllreduceSumCore(float[] send, float[] recv) => send.CopyTo(recv, 0);
    protected override void AllreduceSumCore(double[] send, double[] recv) => send.CopyTo(recv, 0);
    protected override void AllgatherCore(float[] send, float[] recv) => send.CopyTo(recv, 0);
    protected override void AllgatherCore(int[] send, int[] recv) => send.CopyTo(recv, 0);
    protected override void AllgatherCore(byte[] send, byte[] recv) => send.CopyTo(recv, 0);
    protected override void BroadcastCore(int[] buffer, int root) { }
    protected override void BarrierCore() { }
}
