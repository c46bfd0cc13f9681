using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Integrates a stationary velocity field into a displacement by scaling and squaring:
/// u = v / 2^steps, then steps times u ← u + u∘(id + u). Both in voxels, [N, nd, *spatial].
/// The inverse map is the integral of -v.
/// </summary>
public static class DiffeomorphicTransform
{
    /// <summary>The official number of squarings.</summary>
    public const int DefaultSteps = 7;

    public static Tensor Integrate(Tensor velocity, int steps = DefaultSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        var u = velocity / Math.Pow(2.0, steps);
        if (SpatialTransformer.KernelApplies(u, u, u))
        {
            // the network's output is channels-last in memory; the kernel reads channel planes
            if (!u.is_contiguous()) { var c = u.contiguous(); u.Dispose(); u = c; }
            return SquareOnCpu(u, steps);
        }
        for (int i = 0; i < steps; i++)
        {
            // each step's inputs are dropped at once so a full volume holds two fields, not 2×steps
            var next = SpatialTransformer.WarpAndAdd(u, u, u);
            u.Dispose();
            u = next;
        }
        return u;
    }

    /// <summary>
    /// The same steps through <see cref="FieldCompositionKernel"/>, one field at a time (the kernel is parallel
    /// within a field), alternating between two buffers of each layout rather than a fresh field per step: glibc
    /// hands blocks this large back to the system, so each new one was page-faulted and zero-filled again.
    /// </summary>
    static Tensor SquareOnCpu(Tensor u, int steps)
    {
        using var scope = NewDisposeScope();
        long[] spatial = u.shape[2..];
        // allocated once for all fields: fresh pages cost as much as a step here
        var planarSpare = empty([3, .. spatial]);
        var lastA = empty([.. spatial, 3]);
        var lastB = empty([.. spatial, 3]);
        for (long n = 0; n < u.shape[0]; n++)
        {
            var field = u[n];
            var (planar, planarNext, last, lastNext) = (field, planarSpare, lastA, lastB);
            last.copy_(planar.permute(1, 2, 3, 0));
            for (int i = 0; i < steps; i++)
            {
                FieldCompositionKernel.ComposeInto(planarNext, i + 1 < steps ? lastNext : null, last, planar);
                (planar, planarNext) = (planarNext, planar);
                (last, lastNext) = (lastNext, last);
            }
            if (!ReferenceEquals(planar, field)) field.copy_(planar);
        }
        return u;
    }
}
