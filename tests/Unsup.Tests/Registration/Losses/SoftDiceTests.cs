using Unsup.Registration.Losses;
using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Losses;

/// <summary>The label-overlap term: known answers, its gradient moves labels onto labels, and SymNetLoss adds it only when asked.</summary>
public class SoftDiceTests
{
    static Tensor Square(int size, int from, int to, long id)
    {
        var m = zeros([1, 1, size, size], dtype: ScalarType.Int64);
        m[.., .., TensorIndex.Slice(from, to), TensorIndex.Slice(from, to)] = tensor(id);
        return m;
    }

    [Fact]
    public void OneHotAndLossGiveKnownAnswers()
    {
        using var scope = NewDisposeScope();
        var a = Square(8, 0, 4, 3);          // 16 voxels of label 3
        var b = Square(8, 2, 6, 3);          // 16 voxels, 4 shared with a
        var ha = SoftDice.OneHot(a, [3, 9]);  // label 9 is absent from both
        Assert.Equal([1L, 2, 8, 8], ha.shape);
        Assert.Equal(16f, ha[0, 0].sum().item<float>());
        Assert.Equal(0f, ha[0, 1].sum().item<float>());
        Assert.Equal(0f, SoftDice.Loss(ha, ha).item<float>(), 5);
        // label 3: Dice 2*4/32 = 0.25; label 9 absent from both counts as 1: loss = 1 - (0.25 + 1) / 2
        Assert.Equal(0.375f, SoftDice.Loss(ha, SoftDice.OneHot(b, [3, 9])).item<float>(), 4);
        Assert.Equal(1f, SoftDice.Loss(SoftDice.OneHot(a, [3]), SoftDice.OneHot(Square(8, 5, 8, 3), [3])).item<float>(), 4);
        var ex = Assert.Throws<ArgumentException>(() => SoftDice.Loss(ha, SoftDice.OneHot(b, [3])));
        Assert.Contains("differ in shape", ex.Message);
    }

    [Fact]
    public void ItsGradientMovesWarpedLabelsOntoTheTarget()
    {
        using var scope = NewDisposeScope();
        var moving = SoftDice.OneHot(Square(16, 4, 10, 1), [1]);
        var target = SoftDice.OneHot(Square(16, 6, 12, 1), [1]);
        // a translation shared by every voxel: the overlap's gradient along the square's edges decides it
        var shift = new TorchSharp.Modules.Parameter(zeros([1, 2, 1, 1]));
        var opt = optim.Adam([shift], 0.1);
        float first = 0, last = 0;
        for (int i = 0; i < 60; i++)
        {
            opt.zero_grad();
            var loss = SoftDice.Loss(SpatialTransformer.Warp(moving, shift.expand(1, 2, 16, 16)), target);
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < 0.1f * first, $"loss {first} -> {last}");
        // the target sits 2 voxels further along both axes, so the sampling positions move back by 2
        var t = shift.detach().flatten().data<float>().ToArray();
        Assert.All(t, v => Assert.InRange(v, -2.4f, -1.6f));
    }

    [Fact]
    public void SymNetLossAddsTheWeightedLabelTermOnlyWhenWeighted()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new SymNet(startChannels: 3, dims: 2);
        var lx = Square(32, 8, 20, 2);
        var ly = Square(32, 11, 23, 2);
        var x = lx.to(ScalarType.Float32) * 0.8f + 0.1f;
        var y = ly.to(ScalarType.Float32) * 0.5f + 0.2f;
        var hx = SoftDice.OneHot(lx, [2]);
        var hy = SoftDice.OneHot(ly, [2]);
        using var plain = new SymNetLoss(dims: 2);
        using var weighted = new SymNetLoss(dims: 2) { LabelWeight = 2.0 };
        using var f = SymNetPipeline.Forward(model, x, y);
        using var p = plain.Compute(x, y, f, hx, hy);
        Assert.Null(p.LabelOverlap);
        using var w = weighted.Compute(x, y, f, hx, hy);
        Assert.NotNull(w.LabelOverlap);
        float labels = w.LabelOverlap!.item<float>();
        Assert.InRange(labels, 0.3f, 2f);       // two comparisons of squares that half overlap
        Assert.Equal(p.Total.item<float>() + 2f * labels, w.Total.item<float>(), 4);
        using var noLabels = weighted.Compute(x, y, f);
        Assert.Null(noLabels.LabelOverlap);     // no label maps given: the official loss
        w.Total.backward();
        Assert.True(model.parameters().All(q => q.grad is not null && q.grad.isfinite().all().item<bool>()));
    }
}
