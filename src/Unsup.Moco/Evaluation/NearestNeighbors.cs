using static TorchSharp.torch;

namespace Unsup.Moco.Evaluation;

/// <summary>
/// Cosine-similarity search of query features in a bank of features: the kNN classifier's neighbours
/// (<see cref="KnnEvaluation"/>) and `moco neighbors`' search in an embedding index.
/// </summary>
public static class NearestNeighbors
{
    /// <summary>Rows scaled to unit length (float32): what <see cref="TopK"/> takes.</summary>
    public static Tensor Unit(Tensor features) => nn.functional.normalize(features.to(ScalarType.Float32), p: 2, dim: 1);

    /// <summary>The min(k, N) most similar bank rows of each query, best first: (similarity [M, k], row [M, k]).</summary>
    /// <param name="unitBank">[N, D] unit rows (<see cref="Unit"/>).</param>
    /// <param name="unitQueries">[M, D] unit rows on the bank's device.</param>
    public static (Tensor Similarity, Tensor Row) TopK(Tensor unitBank, Tensor unitQueries, int k) =>
        unitQueries.mm(unitBank.t()).topk((int)Math.Min(k, unitBank.shape[0]), dim: 1);

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
        var (values, rows) = TopK(Unit(index), Unit(queries), k);
        var v = values.to(ScalarType.Float64).data<double>().ToArray();
        var r = rows.data<long>().ToArray();
        int kk = (int)values.shape[1];
        return Enumerable.Range(0, (int)queries.shape[0])
            .Select(q => Enumerable.Range(0, kk).Select(j => (r[q * kk + j], v[q * kk + j])).ToArray()).ToArray();
    }
}
