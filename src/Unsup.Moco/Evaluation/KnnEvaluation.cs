using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>Top-1 and top-5 accuracy of the weighted kNN protocol, and its per-query predictions.</summary>
public sealed record KnnResult(double Top1, double Top5, int K, double Temperature, long Queries);

/// <summary>
/// The InstDisc weighted kNN (as <see cref="KnnClassifier"/>: cosine similarity, top k neighbours voting exp(sim / t))
/// with the class scores kept, so top-5 can be read as well as top-1. Chunked over queries.
/// </summary>
public static class KnnEvaluation
{
    /// <summary>Summed vote weights per class [M, classes].</summary>
    public static Tensor Scores(Tensor bank, Tensor bankLabels, Tensor queries, int numClasses, int k = 200, double temperature = 0.1, int chunk = 512)
    {
        if (k < 1) throw new UnsupException($"--k {k}: must be at least 1");
        if (temperature <= 0) throw new UnsupException($"--t {temperature}: must be positive");
        if (bank.shape[0] == 0) throw new UnsupException("the kNN bank (training split) is empty");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var b = nn.functional.normalize(bank.to(ScalarType.Float32), p: 2, dim: 1);
        var q = nn.functional.normalize(queries.to(ScalarType.Float32), p: 2, dim: 1);
        var labels = bankLabels.to(ScalarType.Int64);
        int kk = (int)Math.Min(k, b.shape[0]);
        var parts = new List<Tensor>();
        for (long start = 0; start < q.shape[0]; start += chunk)
        {
            using var inner = NewDisposeScope();
            var block = q.narrow(0, start, Math.Min(chunk, q.shape[0] - start));
            var (w, idx) = block.mm(b.t()).topk(kk, dim: 1);
            var scores = zeros(block.shape[0], numClasses).scatter_add_(1, labels[idx], (w / temperature).exp());
            parts.Add(scores.MoveToOuterDisposeScope());
        }
        return (parts.Count == 0 ? zeros(0, numClasses) : cat(parts, 0)).MoveToOuterDisposeScope();
    }

    public static KnnResult Evaluate(Tensor bank, Tensor bankLabels, Tensor queries, Tensor queryLabels, int numClasses, int k = 200, double temperature = 0.1)
    {
        using var scope = NewDisposeScope();
        var scores = Scores(bank, bankLabels, queries, numClasses, k, temperature);
        var (top1, top5) = TopK(scores, queryLabels);
        return new KnnResult(top1, top5, (int)Math.Min(k, bank.shape[0]), temperature, queries.shape[0]);
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
