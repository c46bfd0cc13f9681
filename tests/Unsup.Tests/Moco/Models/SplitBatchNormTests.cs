using Unsup.Moco.Models;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Models;

public class SplitBatchNormTests
{
    [Fact]
    public void Train_mode_matches_batchnorm_on_each_split_and_averages_running_stats()
    {
        manual_seed(3);
        const int splits = 3, c = 4;
        using var x = randn(6, c, 5, 5) * 2 + 1;
        using var sbn = new SplitBatchNorm(c, splits);
        using (no_grad()) { sbn.Weight.copy_(tensor(new float[] { 1, 2, 0.5f, -1 })); sbn.Bias.copy_(tensor(new float[] { 0, 1, 2, 3 })); }
        sbn.train();
        using var y = sbn.call(x);

        var means = new List<Tensor>(); var vars = new List<Tensor>();
        for (int s = 0; s < splits; s++)
        {
            // split s = samples s, s+splits, ... (the demo's view(-1, C*splits, H, W) layout)
            using var idx = arange(s, 6, splits, dtype: ScalarType.Int64);
            using var bn = nn.BatchNorm2d(c);
            using (no_grad()) { bn.weight!.copy_(sbn.Weight); bn.bias!.copy_(sbn.Bias); }
            bn.train();
            using var xs = x.index_select(0, idx);
            using var expected = bn.call(xs);
            using var got = y.index_select(0, idx);
            Assert.True(got.allclose(expected, atol: 1e-5), $"split {s}");
            means.Add(bn.running_mean!.clone()); vars.Add(bn.running_var!.clone());
        }
        Assert.True(sbn.RunningMean.allclose(stack(means).mean([0]), atol: 1e-6));
        Assert.True(sbn.RunningVar.allclose(stack(vars).mean([0]), atol: 1e-6));

        sbn.eval();
        using var yEval = sbn.call(x);
        using var plain = nn.functional.batch_norm(x, sbn.RunningMean, sbn.RunningVar, sbn.Weight, sbn.Bias, false, 0.1, 1e-5);
        Assert.True(yEval.allclose(plain, atol: 1e-6));
    }

    [Fact]
    public void Batch_not_divisible_by_splits_is_a_clear_error()
    {
        using var sbn = new SplitBatchNorm(2, 4);
        sbn.train();
        using var x = randn(6, 2, 3, 3);
        var e = Assert.Throws<UnsupException>(() => sbn.call(x));
        Assert.Contains("bn-splits", e.Message);
    }

    [Fact]
    public void State_dict_names_equal_batchnorm2d()
    {
        using var sbn = new SplitBatchNorm(2, 4);
        using var bn = nn.BatchNorm2d(2);
        Assert.Equal(bn.state_dict().Keys.OrderBy(k => k), sbn.state_dict().Keys.OrderBy(k => k));
    }
}
