using Unsup.Registration.Metrics;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Metrics;

public class EvaluationTests
{
    [Fact]
    public void KnownShiftAlignsLabelsPerfectly()
    {
        using var scope = NewDisposeScope();
        // fixed: a block of label 4 at w 4..9 and label 9 at d 2..5; moving: the same, 2 voxels further along w
        var fixedLabels = zeros([12, 12, 16], dtype: ScalarType.Int64);
        fixedLabels[TensorIndex.Slice(2, 10), TensorIndex.Slice(2, 10), TensorIndex.Slice(4, 10)] = tensor(4L);
        fixedLabels[TensorIndex.Slice(2, 6), TensorIndex.Slice(2, 6), TensorIndex.Slice(4, 10)] = tensor(9L);
        var movingLabels = fixedLabels.roll(2, 2);
        var forward = zeros([1, 3, 12, 12, 16]);
        forward[.., 0] = full(new long[] { 1, 12, 12, 16 }, 2f);   // sample moving 2 voxels further along W
        var inverse = -forward;

        var ev = RegistrationEvaluation.Evaluate(forward, inverse, movingLabels, fixedLabels);
        Assert.Equal(new long[] { 4, 9 }, ev.DicePerLabel.Keys.OrderBy(k => k).ToArray());
        Assert.Equal(1.0, ev.MeanDice, 12);
        Assert.True(ev.MeanDiceBefore < 0.8);
        Assert.Equal(0.0, ev.PercentNonPositiveJacobian);
        Assert.Equal(0.0, ev.StdLogJacobian, 12);
        // a constant shift and its negation are exact inverses away from the border
        Assert.True(ev.InverseConsistencyError < 0.7);

        Assert.Throws<UnsupException>(() => RegistrationEvaluation.Evaluate(forward, null, movingLabels[..6], fixedLabels));
    }

    [Fact]
    public void ChannelsLastLayoutRoundTrips()
    {
        using var scope = NewDisposeScope();
        var f = rand([1, 3, 4, 5, 6]);
        var cl = DisplacementLayout.ToChannelsLast(f);
        Assert.Equal(new long[] { 1, 4, 5, 6, 3 }, cl.shape);
        Assert.Equal(f[0, 2, 1, 3, 4].item<float>(), cl[0, 1, 3, 4, 2].item<float>());
        Assert.True(DisplacementLayout.FromChannelsLast(cl[0]).allclose(f, 0, 0));
        Assert.Equal(new long[] { 1, 2, 7, 8 }, DisplacementLayout.FromChannelsLast(rand([7, 8, 2])).shape);
        Assert.Throws<UnsupException>(() => DisplacementLayout.FromChannelsLast(rand([7, 8, 9, 4])));
    }
}
