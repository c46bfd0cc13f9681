using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>The quality numbers of one registered pair (one element of a batch).</summary>
/// <param name="PercentNonPositiveJacobian">% voxels of the forward field with det J ≤ 0</param>
/// <param name="StdLogJacobian">std of log det J of the forward field over det J &gt; 0</param>
/// <param name="InverseConsistencyError">mean |F_XY ∘ F_YX| in voxels (both orders averaged); NaN without an inverse</param>
/// <param name="DicePerLabel">label id → Dice of warped moving labels vs fixed labels; empty without labels</param>
/// <param name="MeanDice">mean over the labels present in either map; NaN without labels</param>
/// <param name="MeanDiceBefore">the same before registration (moving labels unwarped)</param>
public sealed record RegistrationEvaluation(
    double PercentNonPositiveJacobian,
    double StdLogJacobian,
    double InverseConsistencyError,
    IReadOnlyDictionary<long, double> DicePerLabel,
    double MeanDice,
    double MeanDiceBefore)
{
    /// <summary>
    /// Metrics of a forward field (moving → fixed, [1, nd, *spatial], voxels), with optional inverse
    /// and label maps ([*spatial] or [1, 1, *spatial]). Labels default to the nonzero ids of the fixed map.
    /// <paramref name="movedLabels"/>, the moving labels already warped by the forward field (nearest neighbour),
    /// spares warping them again when the caller has them.
    /// </summary>
    public static RegistrationEvaluation Evaluate(Tensor forward, Tensor? inverse = null,
        Tensor? movingLabels = null, Tensor? fixedLabels = null, IReadOnlyList<long>? labels = null, Tensor? movedLabels = null)
    {
        using var scope = NewDisposeScope();
        double fold = DeformationMetrics.PercentNonPositiveJacobian(forward)[0];
        double std = DeformationMetrics.StdLogJacobian(forward)[0];
        double ice = inverse is null ? double.NaN : DeformationMetrics.InverseConsistencyError(forward, inverse)[0];
        var perLabel = new Dictionary<long, double>();
        double mean = double.NaN, before = double.NaN;
        if (movingLabels is not null && fixedLabels is not null)
        {
            var spatial = forward.shape.AsSpan(2).ToArray();
            long voxels = spatial.Aggregate(1L, (a, b) => a * b);
            if (movingLabels.numel() != voxels || fixedLabels.numel() != voxels)
                throw new UnsupException($"label maps ({movingLabels.numel()} and {fixedLabels.numel()} voxels) do not match the field's grid ({string.Join("x", spatial)})");
            var moving = movingLabels.reshape([1, 1, .. spatial]);
            var fixedMap = fixedLabels.reshape([1, 1, .. spatial]);
            var ids = labels ?? Dice.Labels(fixedMap);
            var warped = movedLabels?.reshape([1, 1, .. spatial])
                ?? SpatialTransformer.Warp(moving.to(ScalarType.Int64), forward.to(ScalarType.Float32), Interpolation.Nearest);
            var d = Dice.PerLabel(warped, fixedMap, ids);
            for (int i = 0; i < ids.Count; i++) perLabel[ids[i]] = d[i];
            mean = Dice.Mean(warped, fixedMap, ids);
            before = Dice.Mean(moving, fixedMap, ids);
        }
        return new RegistrationEvaluation(fold, std, ice, perLabel, mean, before);
    }
}
