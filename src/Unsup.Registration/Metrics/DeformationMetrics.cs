using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>Regularity measures of a displacement field (voxels, [N, nd, *spatial]).</summary>
public static class DeformationMetrics
{
    /// <summary>Percentage of voxels whose Jacobian determinant is ≤ 0 (folding), per field of the batch.</summary>
    public static double[] PercentNonPositiveJacobian(Tensor displacement)
    {
        using var scope = NewDisposeScope();
        var det = JacobianDeterminant.Compute(displacement).flatten(1);
        var pct = (det <= 0).to(ScalarType.Float64).mean([1]) * 100.0;
        return pct.cpu().data<double>().ToArray();
    }

    /// <summary>Standard deviation of log det J over the voxels with det J &gt; 0, per field (NaN when fewer than 2).</summary>
    public static double[] StdLogJacobian(Tensor displacement)
    {
        using var scope = NewDisposeScope();
        var det = JacobianDeterminant.Compute(displacement).flatten(1).to(ScalarType.Float64);
        var positive = det > 0;
        var logDet = where(positive, det.clamp(min: double.Epsilon).log(), zeros_like(det));
        var n = positive.sum([1]).to(ScalarType.Float64);
        var mean = logDet.sum([1]) / n;
        var sq = where(positive, (logDet - mean.unsqueeze(1)).square(), zeros_like(det)).sum([1]);
        var std = (sq / (n - 1)).sqrt();   // unbiased, as numpy's ddof=1 / torch.std
        std = where(n < 2, full_like(std, double.NaN), std);
        return std.cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Inverse-consistency error per pair: mean over voxels of |F_XY ∘ F_YX| (the displacement of
    /// φ_XY(φ_YX(x)), 0 for exact inverses), averaged with the reverse composition.
    /// </summary>
    public static double[] InverseConsistencyError(Tensor forward, Tensor inverse)
    {
        using var scope = NewDisposeScope();
        var a = VectorLength(CompositionTransform.Compose(forward, inverse)).flatten(1).mean([1]);
        var b = VectorLength(CompositionTransform.Compose(inverse, forward)).flatten(1).mean([1]);
        return ((a + b) / 2).to(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    private static Tensor VectorLength(Tensor field) => field.square().sum(1).sqrt();
}
