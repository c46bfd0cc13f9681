using Unsup.Moco;
using Unsup.Moco.Evaluation;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Evaluation;

/// <summary>The evaluation protocols on hand-made features: kNN known answers, the linear probe on separable data.</summary>
public class KnnAndLinearProbeTests
{
    [Fact]
    public void Knn_vote_weights_follow_the_temperature_as_computed_by_hand()
    {
        using var bank = tensor(new float[] { 1, 0, 0.9f, 0.1f, 0, 1 }, [3, 2]);
        using var labels = tensor(new long[] { 0, 0, 1 });
        using var query = tensor(new float[] { 0.6f, 0.8f }, [1, 2]);
        // cosine similarities 0.6, 0.6847, 0.8. t = 0.1: class 0 gets e^6 + e^6.847 = 1344.25, class 1 e^8 = 2981 -> 1.
        // t = 1: class 0 gets e^0.6 + e^0.6847 = 3.81, class 1 e^0.8 = 2.23 -> 0.
        using var sharp = KnnEvaluation.Scores(bank, labels, query, 2, k: 3, temperature: 0.1);
        using var soft = KnnEvaluation.Scores(bank, labels, query, 2, k: 3, temperature: 1);
        Assert.Equal(1344.25, sharp[0, 0].item<float>(), 0.1);
        Assert.Equal(2980.96, sharp[0, 1].item<float>(), 0.1);
        Assert.Equal(3.805, soft[0, 0].item<float>(), 0.01);
        Assert.Equal(2.226, soft[0, 1].item<float>(), 0.01);
        using var y1 = tensor(new long[] { 1 });
        Assert.Equal(1.0, KnnEvaluation.Evaluate(bank, labels, query, y1, 2, k: 3, temperature: 0.1).Top1);
        Assert.Equal(0.0, KnnEvaluation.Evaluate(bank, labels, query, y1, 2, k: 3, temperature: 1).Top1);
        // k = 1: only the nearest ([0, 1], class 1) votes
        Assert.Equal(1.0, KnnEvaluation.Evaluate(bank, labels, query, y1, 2, k: 1, temperature: 1).Top1);
    }

    [Fact]
    public void Knn_top1_is_the_argmax_of_the_chunked_scores_and_top5_is_at_least_top1()
    {
        var g = new Generator(7);
        using var bank = randn([300, 16], generator: g);
        using var labels = randint(0, 10, [300], generator: g);
        using var q = randn([120, 16], generator: g);
        using var ql = randint(0, 10, [120], generator: g);
        var res = KnnEvaluation.Evaluate(bank, labels, q, ql, 10, k: 20, temperature: 0.1);
        using var scores = KnnEvaluation.Scores(bank, labels, q, 10, k: 20, temperature: 0.1, chunk: 7);
        Assert.Equal(scores.argmax(1).eq(ql).to(ScalarType.Float64).mean().item<double>(), res.Top1, 10);
        Assert.True(res.Top5 >= res.Top1 && res.Top5 > 0.3, $"top-5 {res.Top5}, top-1 {res.Top1}");
    }

    static (Tensor x, Tensor y) Blobs(int perClass, int classes, int dim, Generator g)
    {
        // class c sits at 2·e_c with noise 0.2: linearly separable with a wide margin
        var y = arange(classes, dtype: ScalarType.Int64).repeat_interleave(perClass);
        var x = nn.functional.one_hot(y, dim).to(ScalarType.Float32) * 2 + randn([classes * perClass, dim], generator: g) * 0.2f;
        return (x, y);
    }

    [Fact]
    public void LinearProbe_with_the_paper_defaults_separates_separable_features_completely()
    {
        var g = new Generator(1);
        var (xTrain, yTrain) = Blobs(40, 4, 12, g);
        var (xTest, yTest) = Blobs(15, 4, 12, g);
        var result = LinearProbe.Train(xTrain, yTrain, xTest, yTest, 4, new LinearProbeOptions { Epochs = 30, BatchSize = 32 });
        Assert.Equal(30, result.History.Count);
        Assert.Equal(1.0, result.Last.Top1);
        Assert.Equal(1.0, result.Last.Top5);
        Assert.All(result.PerClassAccuracy, a => Assert.Equal(1.0, a));
        for (int i = 0; i < 4; i++) Assert.Equal(15, result.Confusion[i, i]);
        // step schedule: lr 30 until 60% of the epochs, then 3, then 0.3
        Assert.Equal(30, result.History[17].Lr);
        Assert.Equal(3, result.History[18].Lr, 9);
        Assert.Equal(0.3, result.History[29].Lr, 9);
    }

    [Fact]
    public void LinearProbe_divergence_is_reported_with_what_to_change()
    {
        var g = new Generator(2);
        var (x, y) = Blobs(20, 3, 8, g);
        // large-norm features (as some backbones give) with lr 30: logits overflow within a few steps
        using var huge = x * 1e18f;
        using var shuffled = y[randperm(60, generator: g)];   // not separable: the gradient never vanishes
        var e = Assert.Throws<UnsupException>(() => LinearProbe.Train(huge, shuffled, huge, shuffled, 3, new LinearProbeOptions { Epochs = 5 }));
        Assert.Contains("diverged", e.Message);
        Assert.Contains("--normalize-features", e.Message);
        // the suggested option fixes it
        var ok = LinearProbe.Train(huge, y, huge, y, 3, new LinearProbeOptions { Epochs = 5, NormalizeFeatures = true });
        Assert.True(ok.Last.Top1 > 0.9);
    }

    [Fact]
    public void Standardized_features_make_the_probe_blind_to_each_dimensions_scale_and_offset()
    {
        var g = new Generator(4);
        var (x, y) = Blobs(30, 3, 6, g);
        // the same features with every dimension scaled and shifted differently (a backbone's units do differ so)
        using var scale = tensor(new float[] { 1, 50, 0.02f, 7, 300, 0.5f });
        using var shift = tensor(new float[] { 0, -40, 3, 900, 1, -2 });
        using var warped = x * scale + shift;
        var o = new LinearProbeOptions { Epochs = 8, Lr = 0.5, StandardizeFeatures = true };
        var a = LinearProbe.Train(x, y, x, y, 3, o);
        var b = LinearProbe.Train(warped, y, warped, y, 3, o);
        // training statistics remove the per-dimension affine map, for the test features too
        for (int i = 0; i < a.History.Count; i++)
        {
            Assert.Equal(a.History[i].Loss, b.History[i].Loss, 3);
            Assert.Equal(a.History[i].Top1, b.History[i].Top1, 6);
        }
        // without the option the two runs differ (the comparison above is not vacuous)
        var plain = o with { StandardizeFeatures = false };
        Assert.NotEqual(LinearProbe.Train(x, y, x, y, 3, plain).Last.Loss, LinearProbe.Train(warped, y, warped, y, 3, plain).Last.Loss, 3);
    }

    [Fact]
    public void Confusion_matrix_counts_true_against_predicted()
    {
        using var pred = tensor(new long[] { 0, 1, 1, 2, 0 });
        using var truth = tensor(new long[] { 0, 1, 2, 2, 2 });
        var m = LinearProbe.Confusion(pred, truth, 3);
        Assert.Equal(1, m[0, 0]); Assert.Equal(1, m[1, 1]); Assert.Equal(1, m[2, 1]); Assert.Equal(1, m[2, 2]); Assert.Equal(1, m[2, 0]);
        Assert.Equal(5, m.Cast<long>().Sum());
    }
}
