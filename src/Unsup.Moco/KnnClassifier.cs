using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>
/// Weighted kNN on L2-normalised features (the InstDisc protocol MoCo's monitor uses): cosine similarity of each
/// query to the bank, top k neighbours, each voting exp(sim / t) for its class, class with the largest summed weight.
/// Similarities are computed in chunks of queries (one matmul each) so memory stays at chunk × bank.
/// </summary>
public sealed class KnnClassifier : IDisposable
{
    readonly Tensor bank;     // [N, D], unit rows
    readonly Tensor labels;   // [N] int64
    public int NumClasses { get; }
    public int K { get; }
    public double Temperature { get; }

    /// <param name="bankFeatures">[N, D] features of the labelled set (normalised here).</param>
    /// <param name="bankLabels">[N] class indices 0..numClasses−1.</param>
    public KnnClassifier(Tensor bankFeatures, Tensor bankLabels, int numClasses, int k = 200, double temperature = 0.1)
    {
        if (bankFeatures.dim() != 2 || bankLabels.dim() != 1 || bankFeatures.shape[0] != bankLabels.shape[0])
            throw new ArgumentException($"expected features [N, D] and labels [N], got [{string.Join(", ", bankFeatures.shape)}] and [{string.Join(", ", bankLabels.shape)}]");
        if (k < 1) throw new UnsupException($"--knn-k {k}: must be at least 1");
        NumClasses = numClasses;
        K = (int)Math.Min(k, bankFeatures.shape[0]);
        Temperature = temperature;
        bank = nn.functional.normalize(bankFeatures.to(ScalarType.Float32), p: 2, dim: 1).detach();
        labels = bankLabels.to(ScalarType.Int64).to(bank.device).detach();
    }

    /// <summary>Predicted class [M] for query features [M, D].</summary>
    public Tensor Predict(Tensor features, int chunk = 512)
    {
        using var _ = no_grad();
        var parts = new List<Tensor>();
        using var scope = NewDisposeScope();
        var q = nn.functional.normalize(features.to(ScalarType.Float32).to(bank.device), p: 2, dim: 1);
        for (long start = 0; start < q.shape[0]; start += chunk)
        {
            using var inner = NewDisposeScope();
            var block = q.narrow(0, start, Math.Min(chunk, q.shape[0] - start));
            var sim = block.mm(bank.t());
            var (w, idx) = sim.topk(K, dim: 1);
            var votes = labels[idx];                                   // [m, K]
            var weight = (w / Temperature).exp();
            var scores = zeros(block.shape[0], NumClasses, device: bank.device).scatter_add_(1, votes, weight);
            parts.Add(scores.argmax(1).MoveToOuterDisposeScope());
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Top-1 accuracy in [0, 1] on labelled queries.</summary>
    public double Accuracy(Tensor features, Tensor queryLabels, int chunk = 512)
    {
        using var scope = NewDisposeScope();
        var pred = Predict(features, chunk);
        return pred.eq(queryLabels.to(ScalarType.Int64).to(pred.device)).to(ScalarType.Float64).mean().item<double>();
    }

    /// <summary>The raw-pixel baseline: the same classifier on flattened [0, 1] pixels (any image dtype).</summary>
    public static double RawPixelAccuracy(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels,
        int numClasses, int k = 200, double temperature = 0.1, int chunk = 512)
    {
        using var scope = NewDisposeScope();
        static Tensor Flat(Tensor x) => Augment.MocoAugmentation.ToUnitFloat(x).flatten(1);
        using var knn = new KnnClassifier(Flat(trainImages), trainLabels, numClasses, k, temperature);
        return knn.Accuracy(Flat(testImages), testLabels, chunk);
    }

    public void Dispose() { bank.Dispose(); labels.Dispose(); }
}
