using static TorchSharp.torch;

namespace Unsup.Distributed;

/// <summary>Collectives on tensors, through host memory (the communicator's buffers are host arrays).</summary>
public static class TensorCollectives
{
    /// <summary>
    /// Concatenation along dim 0 of every rank's float32 <paramref name="local"/> (same shape on every rank), in rank
    /// order, on <paramref name="local"/>'s device — the official MoCo's concat_all_gather. No gradient flows through it.
    /// </summary>
    public static Tensor AllgatherRows(this Communicator comm, Tensor local)
    {
        if (!comm.IsDistributed) return local.detach().clone();
        using var scope = NewDisposeScope();
        var send = local.detach().to(ScalarType.Float32).cpu().contiguous().reshape(-1).data<float>().ToArray();
        var recv = new float[send.Length * (long)comm.Size];
        comm.Allgather(send, recv);
        long[] shape = [local.shape[0] * comm.Size, .. local.shape.Skip(1)];
        return from_array(recv).reshape(shape).to(local.dtype).to(local.device).MoveToOuterDisposeScope();
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
