using static TorchSharp.torch;

namespace Unsup.Distributed;

/// <summary>Collectives on tensors, through host memory (the communicator's buffers are host arrays).</summary>
public static class TensorCollectives
{
    /// <summary>This rank's strided share of a global batch: rows rank, rank + N, rank + 2N, ... (see <see cref="Communicator.Owns"/>).</summary>
    public static Tensor ShareOfRows(this Communicator comm, Tensor global)
    {
        if (!comm.IsDistributed) return global;
        long b = comm.ShareSize(global.shape[0], "the batch of");
        using var idx = arange(comm.Rank, global.shape[0], comm.Size, dtype: ScalarType.Int64, device: global.device);
        return global.index_select(0, idx);
    }

    /// <summary>
    /// The inverse of <see cref="ShareOfRows"/>: every rank's share put back into the global batch's row order, on every
    /// rank (the official MoCo's concat_all_gather, with strided shares). No gradient flows through it.
    /// Float32 through host memory; the result has <paramref name="local"/>'s dtype and device.
    /// </summary>
    public static Tensor AllgatherRows(this Communicator comm, Tensor local)
    {
        if (!comm.IsDistributed) return local.detach().clone();
        using var scope = NewDisposeScope();
        var send = local.detach().to(ScalarType.Float32).cpu().contiguous().reshape(-1).data<float>().ToArray();
        var recv = new float[send.Length * (long)comm.Size];
        comm.Allgather(send, recv);
        long b = local.shape[0];
        long[] rest = local.shape.Skip(1).ToArray();
        var rankMajor = from_array(recv).reshape([comm.Size, b, .. rest]);
        return rankMajor.transpose(0, 1).reshape([b * comm.Size, .. rest]).to(local.dtype).to(local.device).MoveToOuterDisposeScope();
    }

    /// <summary>Every rank gets <paramref name="root"/>'s int64 vector (e.g. a permutation drawn on rank 0).</summary>
    public static Tensor BroadcastIndices(this Communicator comm, Tensor indices, int root = 0)
    {
        if (!comm.IsDistributed) return indices;
        using var scope = NewDisposeScope();
        var buf = indices.cpu().to(ScalarType.Int32).contiguous().data<int>().ToArray();
        comm.Broadcast(buf, root);
        return from_array(buf).to(ScalarType.Int64).to(indices.device).MoveToOuterDisposeScope();
    }

    /// <summary>The mean over ranks of a few numbers (reported losses), in one allreduce.</summary>
    public static double[] AverageScalars(this Communicator comm, params double[] values)
    {
        if (!comm.IsDistributed) return values;
        var sum = new double[values.Length];
        comm.AllreduceSum(values, sum);
        return sum.Select(s => s / comm.Size).ToArray();
    }
}
