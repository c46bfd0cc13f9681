using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// FreeSurfer's left/right label pairs, in the order of SynthSeg's generation_labels.npy (its 18 left labels
/// and the 18 right ones after them) plus the choroid plexus (31/63): a left-right flip of a label map must swap
/// them so the flipped map still names the left hemisphere "left" (SynthSeg's RandomFlip with swap_labels).
/// </summary>
public static class LeftRightLabels
{
    public static readonly long[] Left = [2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 17, 18, 25, 26, 28, 30, 31, 136, 137];
    public static readonly long[] Right = [41, 42, 43, 44, 46, 47, 49, 50, 51, 52, 53, 54, 57, 58, 60, 62, 63, 163, 164];

    /// <summary>The map with every left label replaced by its right partner and vice versa (same dtype); others kept.</summary>
    public static Tensor Swap(Tensor labels)
    {
        using var scope = NewDisposeScope();
        var values = labels.to(ScalarType.Int64);
        var from = tensor(Left.Concat(Right).ToArray(), device: labels.device);
        var to = tensor(Right.Concat(Left).ToArray(), device: labels.device);
        var idx = LabelImageSynthesizer.LabelIndex(values, from);
        return where(idx >= 0, to[idx.clamp(min: 0)], values).to(labels.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The array axis that runs left-right in a voxel-to-world affine (RAS world: the axis with the largest x
    /// component), the axis SynthSeg flips along.
    /// </summary>
    public static int Axis(double[,] affine, int dims)
    {
        int best = 0;
        for (int a = 1; a < dims; a++)
            if (Math.Abs(affine[0, a]) > Math.Abs(affine[0, best])) best = a;
        return best;
    }
}
