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
        // KernelApplies also requires f1 and f2 of one shape, batch included
        if (!SpatialTransformer.KernelApplies(f1, f2, f2)) return SpatialTransformer.WarpAndAdd(f1, f2, f2);
        using var scope = NewDisposeScope();
        var output = empty(f2.shape);
        var disp = f2.contiguous();
        var field = DisplacementLayout.ToChannelsLast(f1);
        for (long n = 0; n < f1.shape[0]; n++)
            FieldCompositionKernel.ComposeInto(output[n], null, field[n], disp[n]);
        return output.MoveToOuterDisposeScope();
    }
}
