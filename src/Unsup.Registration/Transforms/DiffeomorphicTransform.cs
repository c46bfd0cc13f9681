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
        for (int i = 0; i < steps; i++)
        {
            // each step's inputs are dropped at once so a full volume holds two fields, not 2×steps
            var next = SpatialTransformer.WarpAndAdd(u, u, u);
            u.Dispose();
            u = next;
        }
        return u;
    }
}
