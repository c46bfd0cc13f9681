using static TorchSharp.torch;

namespace Unsup.Moco;

/// <summary>
/// Single-device "shuffling BN": the key batch is permuted before the key encoder so that, with split batch norm,
/// a query and its positive key fall into different BN sub-batches (no statistics leak through BN). The
/// permutation is undone on the keys afterwards so key i again belongs to query i.
/// </summary>
public static class BatchShuffle
{
    /// <summary>Returns the permuted batch and the index that undoes the permutation.</summary>
    public static (Tensor shuffled, Tensor unshuffle) ShuffleBatch(Tensor x, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var perm = randperm(x.shape[0], generator: generator).to(x.device);
        var unshuffle = argsort(perm);
        return (x.index_select(0, perm).MoveToOuterDisposeScope(), unshuffle.MoveToOuterDisposeScope());
    }

    /// <summary>Restores the original order: UnshuffleBatch(f(ShuffleBatch(x))) lines up with x row for row.</summary>
    public static Tensor UnshuffleBatch(Tensor x, Tensor unshuffle) => x.index_select(0, unshuffle);
}
