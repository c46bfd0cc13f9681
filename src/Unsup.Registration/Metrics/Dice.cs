using static TorchSharp.torch;

namespace Unsup.Registration.Metrics;

/// <summary>Dice overlap of label maps (e.g. warped moving labels against fixed labels).</summary>
public static class Dice
{
    /// <summary>
    /// 2|A∩B| / (|A| + |B|) for each label id, over label maps of one shape (any integer or float
    /// dtype holding integer ids). NaN for a label absent from both maps, so it can be skipped.
    /// </summary>
    public static double[] PerLabel(Tensor a, Tensor b, IReadOnlyList<long> labels)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"label maps differ in shape: [{string.Join(", ", a.shape)}] vs [{string.Join(", ", b.shape)}]");
        using var scope = NewDisposeScope();
        var ai = a.to(ScalarType.Int64).flatten();
        var bi = b.to(ScalarType.Int64).flatten();
        if (labels.Count == 0) return [];
        var ids = tensor(labels.ToArray(), device: a.device);
        // one pass per map: position of each voxel's label in the list (or -1), then counts by bincount
        var aIdx = IndexIn(ai, ids);
        var bIdx = IndexIn(bi, ids);
        int n = labels.Count;
        var both = where(aIdx == bIdx, aIdx, full_like(aIdx, -1));
        var countA = Count(aIdx, n);
        var countB = Count(bIdx, n);
        var countAB = Count(both, n);
        var dice = (2.0 * countAB) / (countA + countB).to(ScalarType.Float64);
        return dice.cpu().data<double>().ToArray();
    }

    /// <summary>Mean Dice over the labels present in at least one map (NaN if none is).</summary>
    public static double Mean(Tensor a, Tensor b, IReadOnlyList<long> labels)
    {
        var per = PerLabel(a, b, labels).Where(d => !double.IsNaN(d)).ToArray();
        return per.Length == 0 ? double.NaN : per.Average();
    }

    /// <summary>The nonzero label ids of a map, sorted (0 is background by convention).</summary>
    public static long[] Labels(Tensor map)
    {
        using var scope = NewDisposeScope();
        var u = map.to(ScalarType.Int64).flatten().unique().Item1;
        return u.cpu().data<long>().ToArray().Where(v => v != 0).ToArray();
    }

    private static Tensor IndexIn(Tensor values, Tensor ids)
    {
        var sorted = ids.sort().Values;
        var order = ids.argsort();
        var pos = searchsorted(sorted, values).clamp(max: ids.numel() - 1);
        var hit = sorted[pos] == values;
        return where(hit, order[pos], full_like(values, -1));
    }

    private static Tensor Count(Tensor idx, int n)
    {
        var valid = idx.masked_select(idx >= 0);
        return bincount(valid, minlength: n).to(ScalarType.Float64);
    }
}
