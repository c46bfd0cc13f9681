using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>
/// Composes two displacements (voxels, [N, nd, *spatial]): Compose(f1, f2) = f2 + f1∘(id + f2),
/// the displacement of x ↦ φ1(φ2(x)); warping by it equals warping by f1 and then by f2's grid.
/// This is the argument order of the current official code (changed in April 2022).
/// </summary>
public static class CompositionTransform
{
    public static Tensor Compose(Tensor f1, Tensor f2)
    {
        if (!SpatialTransformer.KernelApplies(f1, f2, f2) || f1.shape[0] != f2.shape[0]) return SpatialTransformer.WarpAndAdd(f1, f2, f2);
        using var scope = NewDisposeScope();
        var output = empty(f2.shape);
        var disp = f2.contiguous();
        for (long n = 0; n < f1.shape[0]; n++)
            FieldCompositionKernel.ComposeInto(output[n], null, f1[n].permute(1, 2, 3, 0).contiguous(), disp[n]);
        return output.MoveToOuterDisposeScope();
    }
}
