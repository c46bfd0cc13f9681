using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>
/// Determinant of the Jacobian of x ↦ x + u(x) for a displacement u in voxels [N, nd, *spatial],
/// by forward differences as the official <c>JacboianDet</c> (identity added first, so an unmoved
/// voxel has det 1). Result [N, *(spatial - 1)]: the last slice of each axis has no forward neighbour.
/// </summary>
public static class JacobianDeterminant
{
    public static Tensor Compute(Tensor displacement)
    {
        using var scope = NewDisposeScope();
        int nd = (int)displacement.dim() - 2;
        if (nd is not (2 or 3) || displacement.shape[1] != nd)
            throw new ArgumentException($"displacement must be [N, nd, *spatial] with nd = 2 or 3, got [{string.Join(", ", displacement.shape)}]");

        // a[r][c] = ∂φ_r/∂x_c with r, c in array-axis order; φ_r is channel nd-1-r.
        var a = new Tensor[nd, nd];
        for (int c = 0; c < nd; c++)
        {
            var diff = ForwardDifference(displacement, nd, c);
            for (int r = 0; r < nd; r++)
            {
                var d = diff[.., nd - 1 - r];
                a[r, c] = r == c ? d + 1.0 : d;
            }
        }
        var det = nd == 2
            ? a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
            : a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
              - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
              + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]);
        return det.MoveToOuterDisposeScope();
    }

    // u(x + e_axis) - u(x) on the grid points that have a forward neighbour along every axis
    private static Tensor ForwardDifference(Tensor u, int nd, int axis)
    {
        var hi = new TensorIndex[nd + 2];
        var lo = new TensorIndex[nd + 2];
        hi[0] = lo[0] = hi[1] = lo[1] = TensorIndex.Colon;
        for (int k = 0; k < nd; k++)
        {
            hi[k + 2] = k == axis ? TensorIndex.Slice(1, null) : TensorIndex.Slice(null, -1);
            lo[k + 2] = TensorIndex.Slice(null, -1);
        }
        return u[hi] - u[lo];
    }
}
