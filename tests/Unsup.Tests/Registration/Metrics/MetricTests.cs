using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

using Unsup.Tests.Registration.Transforms;

namespace Unsup.Tests.Registration.Metrics;

public class MetricTests
{
    [Fact]
    public void DiceHasKnownValuesPerLabel()
    {
        using var scope = NewDisposeScope();
        // label 5: 4 voxels in a, 2 in b, overlap 2 → 2·2/6; label 9: identical → 1; label 2: only in b → 0; 77: nowhere → NaN
        var a = tensor(new long[] { 5, 5, 5, 5, 9, 9, 0, 0 }).reshape(2, 2, 2);
        var b = tensor(new long[] { 5, 5, 0, 2, 9, 9, 0, 0 }).reshape(2, 2, 2);
        var d = Dice.PerLabel(a, b, [5, 9, 2, 77]);
        Assert.Equal(4.0 / 6, d[0], 12);
        Assert.Equal(1.0, d[1], 12);
        Assert.Equal(0.0, d[2], 12);
        Assert.True(double.IsNaN(d[3]));
        Assert.Equal((4.0 / 6 + 1 + 0) / 3, Dice.Mean(a, b, [5, 9, 2, 77]), 12);
        Assert.Equal(new long[] { 2, 5, 9 }, Dice.Labels(b));
        // float label maps (as read from NIfTI) give the same answer
        Assert.Equal(d[0], Dice.PerLabel(a.to(ScalarType.Float32), b.to(ScalarType.Float32), [5])[0], 12);
    }

    [Fact]
    public void IdentityFieldHasNoFoldingAndPerfectConsistency()
    {
        using var scope = NewDisposeScope();
        var zero = zeros([2, 3, 10, 10, 10]);
        Assert.Equal(new[] { 0.0, 0.0 }, DeformationMetrics.PercentNonPositiveJacobian(zero));
        Assert.Equal(new[] { 0.0, 0.0 }, DeformationMetrics.StdLogJacobian(zero));
        Assert.Equal(new[] { 0.0, 0.0 }, DeformationMetrics.InverseConsistencyError(zero, zero));
    }

    [Fact]
    public void FoldingAndJacobianSpreadAreMeasured()
    {
        using var scope = NewDisposeScope();
        // reflection along W in the first half of the D slices (det -1 there), identity elsewhere
        var w = arange(8, dtype: ScalarType.Float32).reshape(1, 1, 8).expand(8, 8, 8);
        var uw = -2 * w * (arange(8).reshape(8, 1, 1) < 4).to(ScalarType.Float32);
        var field = stack([uw, zeros([8, 8, 8]), zeros([8, 8, 8])], 0).unsqueeze(0);
        var det = JacobianDeterminant.Compute(field);
        double expected = (det <= 0).to(ScalarType.Float64).mean().item<double>() * 100;
        Assert.True(expected > 40 && expected < 60);
        Assert.Equal(expected, DeformationMetrics.PercentNonPositiveJacobian(field)[0], 10);

        // uniform scaling by 1.1 along W then 0.9: log det takes two values
        var scale = where(arange(8).reshape(8, 1, 1) < 4, full([8, 8, 8], 0.1f), full([8, 8, 8], -0.1f));
        var field2 = stack([w * scale, zeros([8, 8, 8]), zeros([8, 8, 8])], 0).unsqueeze(0);
        var logDet = JacobianDeterminant.Compute(field2).to(ScalarType.Float64).log().flatten();
        Assert.Equal(logDet.std().item<double>(), DeformationMetrics.StdLogJacobian(field2)[0], 8);
    }

    [Fact]
    public void InverseConsistencyOfExactInversesIsSmallAndOfMismatchedIsLarge()
    {
        using var scope = NewDisposeScope();
        var v = TransformTests.SmoothVelocity(24, amplitude: 2.0);
        var phi = DiffeomorphicTransform.Integrate(v);
        var phiInv = DiffeomorphicTransform.Integrate(-v);
        double good = DeformationMetrics.InverseConsistencyError(phi, phiInv)[0];
        double bad = DeformationMetrics.InverseConsistencyError(phi, phi)[0];
        Assert.True(good < 0.02, $"inverse pair error {good}");
        Assert.True(bad > 10 * good, $"non-inverse pair error {bad} vs {good}");
    }
}
