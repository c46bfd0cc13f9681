using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unsup.Distributed;

/// <summary>
/// Data-parallel gradient averaging: after backward, every rank's gradients are replaced by their mean over the
/// ranks, so each rank's optimizer takes the same step (the one a single process would take on the global batch
/// when each rank's loss is its shard's mean). Gradients are packed into a few large host buffers (buckets of
/// about <see cref="BucketBytes"/>) and reduced with one MPI_Allreduce each, not one call per parameter.
/// </summary>
public sealed class GradientAverager
{
    public const long DefaultBucketBytes = 16L << 20;
    readonly Communicator comm;
    readonly Parameter[] parameters;
    readonly List<(int First, int Count, float[] Send, float[] Recv, long[] Offsets)> buckets = new();

    public long BucketBytes { get; }
    /// <summary>Floats reduced per step (the payload of one rank's allreduce calls).</summary>
    public long Elements { get; }
    public int Buckets => buckets.Count;

    public GradientAverager(Communicator comm, IEnumerable<Parameter> parameters, long bucketBytes = DefaultBucketBytes)
    {
        this.comm = comm;
        this.parameters = parameters.Where(p => p.requires_grad).ToArray();
        BucketBytes = bucketBytes;
        int first = 0;
        while (first < this.parameters.Length)
        {
            var offsets = new List<long>();
            long n = 0;
            int i = first;
            do { offsets.Add(n); n += this.parameters[i].numel(); i++; }
            while (i < this.parameters.Length && (n + this.parameters[i].numel()) * 4 <= bucketBytes);
            if (n > Array.MaxLength) throw new UnsupException($"a parameter of {n} elements is too large for one allreduce buffer");
            buckets.Add((first, i - first, new float[n], new float[n], offsets.ToArray()));
            Elements += n;
            first = i;
        }
    }

    /// <summary>Replaces each gradient by its mean over the ranks (nothing to do in a single process).</summary>
    public void Average()
    {
        if (!comm.IsDistributed) return;
        using var scope = NewDisposeScope();
        foreach (var (first, count, send, recv, offsets) in buckets)
        {
            var flat = frombuffer(send, ScalarType.Float32);            // shares the array: packing writes straight into the MPI buffer
            for (int k = 0; k < count; k++)
            {
                var p = parameters[first + k];
                var part = flat.narrow(0, offsets[k], p.numel());
                if (p.grad is Tensor g) part.copy_(g.detach().reshape(-1));
                else part.zero_();
            }
            comm.AllreduceSum(send, recv);
            var sum = frombuffer(recv, ScalarType.Float32);
            sum.div_(comm.Size);
            for (int k = 0; k < count; k++)
            {
                var p = parameters[first + k];
                if (p.grad is Tensor g)
                    g.copy_(sum.narrow(0, offsets[k], p.numel()).view(g.shape));
            }
        }
    }
}
