using Unsup.Registration.Metrics;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using Unsup.Tests.Registration.Training;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Model;

/// <summary>`symnet register --refine N`: Adam on the network's two velocity fields for one pair.</summary>
public class PairRefinementTests
{
    const int N = 32;

    static double DiceAfter(SymNetRegistrationResult r, Tensor movingLabels, Tensor fixedLabels)
    {
        using var scope = NewDisposeScope();
        var warped = SpatialTransformer.Warp(movingLabels, r.Forward, Interpolation.Nearest);
        return Dice.Mean(warped, fixedLabels, [1, 2]);
    }

    [Fact]
    public void ZeroStepsGiveTheNetworksOutputBitForBit()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var reg = new SymNetRegistration(new SymNet(startChannels: 4), ownsModel: true);
        var x = SyntheticPairs.Blobs3D(N, 0, 0, 0)[0, 0];
        var y = SyntheticPairs.Blobs3D(N, 2, -1, 1)[0, 0];
        using var plain = reg.Register(x, y);
        using var refine = new PairRefinement(0);
        reg.Refinement = refine;
        using var zero = reg.Register(x, y);
        Assert.True(plain.Forward.eq(zero.Forward).all().item<bool>());
        Assert.True(plain.Inverse.eq(zero.Inverse).all().item<bool>());
        Assert.Empty(refine.LossHistory);   // nothing ran
    }

    [Fact]
    public void RefinementOptimisesTheLossItIsGiven()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var reg = new SymNetRegistration(new SymNet(startChannels: 4), ownsModel: true);
        var x = SyntheticPairs.Blobs3D(N, 0, 0, 0)[0, 0];
        var y = SyntheticPairs.Blobs3D(N, 2, -1, 1)[0, 0];
        double FirstLoss(double blur)
        {
            using var refine = new PairRefinement(1, loss: new Unsup.Registration.Losses.SymNetLoss(3) { SimilarityBlur = blur });
            reg.Refinement = refine;
            using var r = reg.Register(x, y);
            return refine.LossHistory[0];
        }
        // the same start, a different objective (symnet register --refine-blur): NCC of blurred images differs
        Assert.NotEqual(FirstLoss(0), FirstLoss(1.5), 3);
    }

    [Fact]
    public void RefinementLowersTheLossAndImprovesDiceOfAShiftedBlobPair()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var reg = new SymNetRegistration(new SymNet(startChannels: 4), ownsModel: true);
        var x = SyntheticPairs.Blobs3D(N, 0, 0, 0);
        var y = SyntheticPairs.Blobs3D(N, 3, -2, 2);
        var (xl, yl) = (SyntheticPairs.Labels(x), SyntheticPairs.Labels(y));
        using var before = reg.Register(x[0, 0], y[0, 0]);
        double diceBefore = DiceAfter(before, yl, xl);

        using var refine = new PairRefinement(40);
        reg.Refinement = refine;
        using var after = reg.Register(x[0, 0], y[0, 0]);
        double diceAfter = DiceAfter(after, yl, xl);

        Assert.Equal(41, refine.LossHistory.Count);
        Assert.True(refine.LossHistory[^1] < refine.LossHistory[0] - 0.05, $"loss {string.Join(", ", refine.LossHistory.Select(v => v.ToString("F4")))}");
        Assert.True(diceAfter > diceBefore + 0.02, $"Dice {diceBefore:F4} -> {diceAfter:F4}");
        Assert.True(DeformationMetrics.PercentNonPositiveJacobian(after.Forward)[0] < 0.5);
    }

    [Fact]
    public void RefinementLeavesTheNetworkUnchangedAndRejectsBadSettings()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var reg = new SymNetRegistration(new SymNet(startChannels: 2), ownsModel: true);
        var before = reg.Model.parameters().Select(p => p.detach().clone()).ToList();
        using var refine = new PairRefinement(3);
        reg.Refinement = refine;
        using var _ = reg.Register(SyntheticPairs.Blobs3D(16, 0, 0, 0)[0, 0], SyntheticPairs.Blobs3D(16, 1, 0, 0)[0, 0]);
        var after = reg.Model.parameters().ToList();
        for (int i = 0; i < before.Count; i++) Assert.True(before[i].eq(after[i]).all().item<bool>());
        Assert.Contains("--refine -1", Assert.Throws<UnsupException>(() => new PairRefinement(-1)).Message);
        Assert.Contains("--refine-lr", Assert.Throws<UnsupException>(() => new PairRefinement(5, 0)).Message);
    }
}
