using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Training;

/// <summary>The pipeline and loss are trainable: a few Adam steps on one 2D pair improve the alignment.</summary>
public class TrainingSmokeTests
{
    [Fact]
    public void AdamStepsOnOnePairLowerTheLossAndImproveSimilarity()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var g = meshgrid([arange(32, dtype: ScalarType.Float32), arange(32, dtype: ScalarType.Float32)], indexing: "ij");
        Tensor Blobs(double dh, double dw) =>
            (exp(-((g[0] - 14 - dh).square() + (g[1] - 15 - dw).square()) / 20.0)
             + 0.7 * exp(-((g[0] - 20 - dh).square() + (g[1] - 11 - dw).square()) / 10.0)).reshape(1, 1, 32, 32);
        var x = Blobs(0, 0);
        var y = Blobs(2, -1.5);

        using var model = new SymNet(startChannels: 4, dims: 2);
        using var loss = new SymNetLoss(dims: 2);
        using var ncc = new LocalNcc(5);
        var opt = optim.Adam(model.parameters(), lr: 3e-3);
        float first = 0, last = 0;
        for (int step = 0; step < 10; step++)
        {
            using var stepScope = NewDisposeScope();
            opt.zero_grad();
            using var f = SymNetPipeline.Forward(model, x, y);
            using var t = loss.Compute(x, y, f);
            t.Total.backward();
            opt.step();
            if (step == 0) first = t.Total.item<float>();
            last = t.Total.item<float>();
            Assert.True(float.IsFinite(last), $"loss became {last} at step {step}");
        }
        // a fresh network starts at the identity (SymNet.HeadInitStd), already close on these blobs: the gain is small but real
        Assert.True(last < first - 0.005, $"loss {first} -> {last}");

        using (no_grad())
        {
            using var f = SymNetPipeline.Forward(model, x, y);
            var moved = SpatialTransformer.Warp(y, f.FullYX);
            float before = ncc.forward(x, y).item<float>();
            float after = ncc.forward(x, moved).item<float>();
            Assert.True(after < before, $"NCC loss {before} -> {after}");
        }
    }
}
