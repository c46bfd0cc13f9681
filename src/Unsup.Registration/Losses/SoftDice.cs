using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>
/// Label overlap as a differentiable loss: label maps become one channel per structure, are warped with linear
/// interpolation like the images, and score 1 − mean soft Dice. Training on synthesised pairs needs it because
/// every image there has its own random contrast, so intensity similarity says little about anatomy, while the
/// label maps the images were drawn from are exact (SynthMorph's loss; VoxelMorph's auxiliary-segmentation term).
/// </summary>
public static class SoftDice
{
    /// <summary>Integer label maps [N, 1, *spatial] as float one-hot channels [N, L, *spatial] for the ids given (others are dropped).</summary>
    public static Tensor OneHot(Tensor labels, IReadOnlyList<long> ids)
    {
        if (labels.dim() < 3 || labels.shape[1] != 1)
            throw new ArgumentException($"labels must be [N, 1, *spatial], got [{string.Join(", ", labels.shape)}]");
        if (ids.Count == 0) throw new ArgumentException("no label ids to encode");
        using var scope = NewDisposeScope();
        var shape = new long[labels.dim()];
        Array.Fill(shape, 1L);
        shape[1] = ids.Count;
        var idTensor = tensor(ids.ToArray(), device: labels.device).reshape(shape);
        return labels.to(ScalarType.Int64).eq(idTensor).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 1 − mean over batch and channels of 2 Σ a·b / (Σ a + Σ b), for soft label maps [N, L, *spatial] in [0, 1].
    /// A structure absent from both maps scores 1 (not 0), so it neither helps nor hurts.
    /// </summary>
    public static Tensor Loss(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"soft label maps differ in shape: [{string.Join(", ", a.shape)}] vs [{string.Join(", ", b.shape)}]");
        using var scope = NewDisposeScope();
        var spatial = Enumerable.Range(2, (int)a.dim() - 2).Select(d => (long)d).ToArray();
        var overlap = (a * b).sum(spatial);
        var size = (a + b).sum(spatial);
        const double eps = 1e-5;
        var dice = (2 * overlap + eps) / (size + eps);
        return (1 - dice.mean()).MoveToOuterDisposeScope();
    }
}
