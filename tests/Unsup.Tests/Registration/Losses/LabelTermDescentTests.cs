using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Losses;

/// <summary>
/// The label term through the whole symmetric pipeline (integration, inverse, composition, warp), optimised on the
/// velocities directly: it must be able to align two label maps. A network that cannot lower this term on one pair
/// (bench/results/registration/from-scratch.md) then has its problem upstream of the pipeline.
/// </summary>
public class LabelTermDescentTests
{
    [Fact]
    public void AdamOnTheVelocitiesAlignsTwoShiftedBlobsThroughTheSymmetricPipeline()
    {
        using var scope = NewDisposeScope();
        const int n = 24;
        var grid = stack(meshgrid([arange(n), arange(n), arange(n)], indexing: "ij"), 0).to(ScalarType.Float32);
        Tensor Blob(float cz) => ((grid[0] - cz).pow(2) + (grid[1] - 12).pow(2) + (grid[2] - 12).pow(2) < 36).to(ScalarType.Int32).reshape(1, 1, n, n, n);
        var labelsX = SoftDice.OneHot(Blob(10), [1L]);
        var labelsY = SoftDice.OneHot(Blob(14), [1L]);
        var vXY = new TorchSharp.Modules.Parameter(zeros([1, 3, n, n, n]));
        var vYX = new TorchSharp.Modules.Parameter(zeros([1, 3, n, n, n]));
        using var opt = optim.Adam([vXY, vYX], lr: 0.05);
        double Loss(bool step)
        {
            using var inner = NewDisposeScope();
            opt.zero_grad();
            using var f = SymNetPipeline.FromVelocities(vXY, vYX);
            var loss = SymNetLoss.LabelOverlap(labelsX, labelsY, f);
            if (step) { loss.backward(); opt.step(); }
            return loss.item<float>();
        }
        double before = Loss(false);
        for (int i = 0; i < 60; i++) Loss(true);
        double after = Loss(false);
        Assert.True(before > 0.5, $"the blobs should start apart (loss {before:F3})");
        Assert.True(after < before / 3, $"60 Adam steps on the velocities should align the blobs: loss {before:F3} -> {after:F3}");
    }
}
