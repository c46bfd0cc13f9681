using Unsup.Moco.Evaluation;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco.Evaluation;

/// <summary>The one weighted kNN (<see cref="KnnEvaluation"/>) on hand-made features: known answers.</summary>
public class KnnEvaluationTests
{
    static long[] Predict(Tensor bank, Tensor labels, Tensor query, int classes, int k, double t, int chunk = 512)
    {
        using var scores = KnnEvaluation.Scores(bank, labels, query, classes, k, t, chunk);
        using var pred = scores.argmax(1);
        return pred.data<long>().ToArray();
    }

    [Fact]
    public void Weighted_vote_gives_the_known_answer()
    {
        // bank: two class-0 points near +x, one class-1 point exactly at +y (unit norm after normalisation)
        using var bank = tensor(new float[] { 1, 0.1f, 1, -0.1f, 0, 5 }, [3, 2]);
        using var labels = tensor(new long[] { 0, 0, 1 });
        // query near +y but k = 3 votes all: class 1 wins on weight (exp(sim/t)) though class 0 has more neighbours
        using var query = tensor(new float[] { 0.3f, 1, 1, 0.2f }, [2, 2]);
        Assert.Equal(new long[] { 1, 0 }, Predict(bank, labels, query, 2, k: 3, t: 0.1, chunk: 1));
        // with a large temperature the votes become counts: class 0 (2 of 3) wins for both
        Assert.Equal(new long[] { 0, 0 }, Predict(bank, labels, query, 2, k: 3, t: 1000));
        using var truth = tensor(new long[] { 1, 0 });
        Assert.Equal(1.0, KnnEvaluation.Evaluate(bank, labels, query, truth, 2, k: 3, temperature: 0.1).Top1);
    }

    [Fact]
    public void Hand_computed_scores_with_k_2()
    {
        // query (1,0); bank at angles giving sims 0.8 (class 2), 0.6 (class 1), 0.0 (class 2) -> top2: classes 2 (0.8), 1 (0.6)
        using var bank = tensor(new float[] { 0.8f, 0.6f, 0.6f, 0.8f, 0, 1 }, [3, 2]);
        using var labels = tensor(new long[] { 2, 1, 2 });
        using var q = tensor(new float[] { 2, 0 }, [1, 2]);
        Assert.Equal(new long[] { 2 }, Predict(bank, labels, q, 3, k: 2, t: 0.5));
    }

    [Fact]
    public void Raw_pixel_knn_separates_obvious_classes()
    {
        manual_seed(0);
        // class 0 bright left half, class 1 bright right half, plus noise
        static Tensor Make(int n, int cls)
        {
            var x = randint(0, 40, [n, 1, 4, 4]);
            if (cls == 0) x[.., .., .., ..2] += 200; else x[.., .., .., 2..] += 200;
            return x.to(ScalarType.Byte);
        }
        using var train = cat([Make(20, 0), Make(20, 1)], 0);
        using var trainLabels = cat([zeros(20, dtype: ScalarType.Int64), ones(20, dtype: ScalarType.Int64)], 0);
        using var test = cat([Make(5, 0), Make(5, 1)], 0);
        using var testLabels = cat([zeros(5, dtype: ScalarType.Int64), ones(5, dtype: ScalarType.Int64)], 0);
        Assert.Equal(1.0, KnnEvaluation.EvaluatePixels(train, trainLabels, test, testLabels, 2, k: 5).Top1);
        // and swapping the labels makes it always wrong
        Assert.Equal(0.0, KnnEvaluation.EvaluatePixels(train, 1 - trainLabels, test, testLabels, 2, k: 5).Top1);
    }
}
