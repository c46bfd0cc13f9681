using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>Cosine-similarity search of query features in an embedding index (rows of an `embed` .npy).</summary>
public static class NearestNeighbors
{
    /// <returns>Per query: the k most similar index rows, best first, with their cosine similarity.</returns>
    public static (long Row, double Similarity)[][] Search(Tensor index, Tensor queries, int k)
    {
        if (k < 1) throw new UnsupException($"--k {k}: must be at least 1");
        if (index.dim() != 2 || queries.dim() != 2 || index.shape[1] != queries.shape[1])
            throw new UnsupException($"the index has features [{string.Join(", ", index.shape)}] but the queries [{string.Join(", ", queries.shape)}]: " +
                                     "was the index made with other weights (or with/without --head)?");
        if (index.shape[0] == 0) throw new UnsupException("the index is empty");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var sim = nn.functional.normalize(queries.to(ScalarType.Float32), p: 2, dim: 1)
            .mm(nn.functional.normalize(index.to(ScalarType.Float32), p: 2, dim: 1).t());
        var (values, rows) = sim.topk((int)Math.Min(k, index.shape[0]), dim: 1);
        var v = values.to(ScalarType.Float64).data<double>().ToArray();
        var r = rows.data<long>().ToArray();
        int kk = (int)values.shape[1];
        return Enumerable.Range(0, (int)queries.shape[0])
            .Select(q => Enumerable.Range(0, kk).Select(j => (r[q * kk + j], v[q * kk + j])).ToArray()).ToArray();
    }
}
