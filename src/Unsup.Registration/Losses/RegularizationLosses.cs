using Unsup.Registration.Metrics;
using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>The official SYMNet regularisers, on fields in voxels [N, nd, *spatial].</summary>
public static class RegularizationLosses
{
    /// <summary>mean(ReLU(-det J)): penalises folding only (the "local orientation consistency" loss).</summary>
    public static Tensor NegativeJacobian(Tensor displacement)
    {
        using var scope = NewDisposeScope();
        return nn.functional.relu(-JacobianDeterminant.Compute(displacement)).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Mean over axes of the mean squared forward difference (the official smoothloss; divisor = nd).</summary>
    public static Tensor Smoothness(Tensor field)
    {
        using var scope = NewDisposeScope();
        int nd = (int)field.dim() - 2;
        Tensor total = zeros(1, dtype: field.dtype, device: field.device).squeeze();
        for (int axis = 0; axis < nd; axis++)
        {
            var d = field.diff(dim: axis + 2);
            total = total + (d * d).mean();
        }
        return (total / nd).MoveToOuterDisposeScope();
    }

    /// <summary>|Σ|f1| - Σ|f2|| / numel(f1): keeps the two half-way maps equally large (official magnitude_loss).</summary>
    public static Tensor Magnitude(Tensor f1, Tensor f2)
    {
        using var scope = NewDisposeScope();
        return ((f1.abs().sum() - f2.abs().sum()).abs() / f1.numel()).MoveToOuterDisposeScope();
    }
}
