using Unsup.Moco;
using static TorchSharp.torch;

namespace Unsup.Tests.Moco;

public class KnnClassifierTests
{
    [Fact]
    public void Weighted_vote_gives_the_known_answer()
    {
        // bank: two class-0 points near +x, one class-1 point exactly at +y (unit norm after normalisation)
        using var bank = tensor(new float[] { 1, 0.1f, 1, -0.1f, 0, 5 }, [3, 2]);
        using var labels = tensor(new long[] { 0, 0, 1 });
        // query near +y but k = 3 votes all: class 1 wins on weight (exp(sim/t)) though class 0 has more neighbours
        using var query = tensor(new float[] { 0.3f, 1, 1, 0.2f }, [2, 2]);
        using var knn = new KnnClassifier(bank, labels, numClasses: 2, k: 3, temperature: 0.1);
        using var pred = knn.Predict(query, chunk: 1);
        Assert.Equal(new long[] { 1, 0 }, pred.data<long>().ToArray());
        // with a large temperature the votes become counts: class 0 (2 of 3) wins for both
        using var flat = new KnnClassifier(bank, labels, 2, k: 3, temperature: 1000);
        Assert.Equal(new long[] { 0, 0 }, flat.Predict(query).data<long>().ToArray());
        using var truth = tensor(new long[] { 1, 0 });
        Assert.Equal(1.0, knn.Accuracy(query, truth));
    }

    [Fact]
    public void Hand_computed_scores_with_k_2()
    {
        // query (1,0); bank at angles giving sims 0.8 (class 2), 0.6 (class 1), 0.0 (class 2) -> top2: classes 2 (0.8), 1 (0.6)
        using var bank = tensor(new float[] { 0.8f, 0.6f, 0.6f, 0.8f, 0, 1 }, [3, 2]);
        using var labels = tensor(new long[] { 2, 1, 2 });
        using var q = tensor(new float[] { 2, 0 }, [1, 2]);
        using var knn = new KnnClassifier(bank, labels, 3, k: 2, temperature: 0.5);
        Assert.Equal(2, knn.Predict(q)[0].item<long>());
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
        Assert.Equal(1.0, KnnClassifier.RawPixelAccuracy(train, trainLabels, test, testLabels, 2, k: 5));
        // and swapping the labels makes it always wrong
        Assert.Equal(0.0, KnnClassifier.RawPixelAccuracy(train, 1 - trainLabels, test, testLabels, 2, k: 5));
    }
}
