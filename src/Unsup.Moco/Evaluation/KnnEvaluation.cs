using Unsup.Moco.Augment;
using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>Top-1 and top-5 accuracy of the weighted kNN protocol.</summary>
public sealed record KnnResult(double Top1, double Top5, int K, double Temperature, long Queries, long Bank);

/// <summary>
/// The one weighted kNN (the InstDisc protocol MoCo's monitor uses): L2-normalised features, cosine similarity of
/// each query to the bank, top k neighbours each voting exp(sim / t) for its class; the class scores are kept so
/// top-5 can be read as well as top-1. Chunked over queries (one matmul each), so memory stays at chunk × bank.
/// The pretraining monitor and `moco knn` both run <see cref="Evaluate(EncoderFeatures, Tensor, Tensor, Tensor, Tensor, int, int, double, KnnFeatures)"/>.
/// </summary>
public static class KnnEvaluation
{
    /// <summary>Summed vote weights per class [M, classes], on the bank's device.</summary>
    public static Tensor Scores(Tensor bank, Tensor bankLabels, Tensor queries, int numClasses, int k = 200, double temperature = 0.1, int chunk = 512)
    {
        if (k < 1) throw new UnsupException($"--k {k}: must be at least 1");
        if (temperature <= 0) throw new UnsupException($"--t {temperature}: must be positive");
        if (bank.dim() != 2 || bankLabels.dim() != 1 || bank.shape[0] != bankLabels.shape[0])
            throw new UnsupException($"expected bank features [N, D] and labels [N], got [{string.Join(", ", bank.shape)}] and [{string.Join(", ", bankLabels.shape)}]");
        if (bank.shape[0] == 0) throw new UnsupException("the kNN bank (training split) is empty");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var b = NearestNeighbors.Unit(bank);
        var q = NearestNeighbors.Unit(queries.to(b.device));
        var labels = bankLabels.to(ScalarType.Int64).to(b.device);
        var parts = new List<Tensor>();
        for (long start = 0; start < q.shape[0]; start += chunk)
        {
            using var inner = NewDisposeScope();
            var block = q.narrow(0, start, Math.Min(chunk, q.shape[0] - start));
            var (w, idx) = NearestNeighbors.TopK(b, block, k);
            var scores = zeros(block.shape[0], numClasses, device: b.device).scatter_add_(1, labels[idx], (w / temperature).exp());
            parts.Add(scores.MoveToOuterDisposeScope());
        }
        return (parts.Count == 0 ? zeros(0, numClasses, device: b.device) : cat(parts, 0)).MoveToOuterDisposeScope();
    }

    /// <summary>kNN of feature vectors: bank [N, D] with labels [N], queries [M, D] with labels [M].</summary>
    public static KnnResult Evaluate(Tensor bank, Tensor bankLabels, Tensor queries, Tensor queryLabels, int numClasses, int k = 200, double temperature = 0.1)
    {
        using var scope = NewDisposeScope();
        var scores = Scores(bank, bankLabels, queries, numClasses, k, temperature);
        var (top1, top5) = TopK(scores, queryLabels);
        return new KnnResult(top1, top5, (int)Math.Min(k, bank.shape[0]), temperature, queries.shape[0], bank.shape[0]);
    }

    /// <summary>kNN of an encoder's features: the training images form the bank, the test images are the queries.</summary>
    /// <param name="features">The projection head's output (the CIFAR demo's monitor) or the pooled backbone features.</param>
    public static KnnResult Evaluate(EncoderFeatures encoder, Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels,
        int numClasses, int k = 200, double temperature = 0.1, KnnFeatures features = KnnFeatures.Backbone)
    {
        bool head = features == KnnFeatures.Head;
        using var bank = encoder.Extract(trainImages, "train features", head);
        using var queries = encoder.Extract(testImages, "test features", head);
        return Evaluate(bank, trainLabels, queries, testLabels, numClasses, k, temperature);
    }

    /// <summary>The raw-pixel baseline: the same kNN on flattened [0, 1] pixels (any image dtype).</summary>
    public static KnnResult EvaluatePixels(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels,
        int numClasses, int k = 200, double temperature = 0.1)
    {
        using var scope = NewDisposeScope();
        return Evaluate(MocoAugmentation.ToUnitFloat(trainImages).flatten(1), trainLabels,
            MocoAugmentation.ToUnitFloat(testImages).flatten(1), testLabels, numClasses, k, temperature);
    }

    /// <summary>Fraction of rows whose label is the best score, and among the 5 best (min(5, classes)).</summary>
    public static (double Top1, double Top5) TopK(Tensor scores, Tensor labels)
    {
        using var scope = NewDisposeScope();
        if (scores.shape[0] == 0) return (double.NaN, double.NaN);
        var y = labels.to(ScalarType.Int64).to(scores.device).view(-1, 1);
        int five = (int)Math.Min(5, scores.shape[1]);
        var (_, idx) = scores.topk(five, dim: 1);
        var hit = idx.eq(y);
        double top1 = hit.narrow(1, 0, 1).any(1).to(ScalarType.Float64).mean().item<double>();
        double top5 = hit.any(1).to(ScalarType.Float64).mean().item<double>();
        return (top1, top5);
    }
}
