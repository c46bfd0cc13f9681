using static TorchSharp.torch;

namespace Unsup.Registration.Training;

/// <summary>
/// Integer-factor downsampling that keeps images and label maps on one grid, so a CPU can train at
/// reduced resolution: output voxel i covers input voxels [f·i, f·i + f) on each axis. Images take the
/// mean of each block (box filter; for f = 2 this is exactly trilinear/bilinear interpolation at the
/// block centre with align_corners = false), label maps take one voxel of each block (nearest neighbour,
/// voxel f·i + f/2), so no new label values appear. Trailing voxels that do not fill a block are dropped.
/// </summary>
public static class Downsampling
{
    /// <summary>Spatial size after downsampling by <paramref name="factor"/>.</summary>
    public static long[] Shape(ReadOnlySpan<long> spatial, int factor) => spatial.ToArray().Select(s => s / factor).ToArray();

    /// <summary>images [N, C, *spatial] (float), block means.</summary>
    public static Tensor Images(Tensor images, int factor)
    {
        Check(images, factor);
        if (factor == 1) return images.alias();
        using var scope = NewDisposeScope();
        var x = images.to(ScalarType.Float32);
        var y = images.dim() == 5
            ? nn.functional.avg_pool3d(x, [factor, factor, factor], [factor, factor, factor])
            : nn.functional.avg_pool2d(x, [factor, factor], [factor, factor]);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>label maps [N, C, *spatial] (any dtype), one voxel per block.</summary>
    public static Tensor Labels(Tensor labels, int factor)
    {
        Check(labels, factor);
        if (factor == 1) return labels.alias();
        int nd = (int)labels.dim() - 2;
        var idx = new TensorIndex[nd + 2];
        idx[0] = TensorIndex.Colon;
        idx[1] = TensorIndex.Colon;
        for (int i = 0; i < nd; i++)
        {
            long n = labels.shape[i + 2] / factor;
            idx[i + 2] = TensorIndex.Slice(factor / 2, factor / 2 + n * factor, factor);
        }
        return labels[idx].contiguous();
    }

    /// <summary>The voxel-to-world affine after downsampling: voxel i sits at the centre of block i.</summary>
    public static double[,] Affine(double[,] affine, int factor)
    {
        var a = (double[,])affine.Clone();
        for (int r = 0; r < 3; r++)
        {
            double shift = 0;
            for (int c = 0; c < 3; c++)
            {
                a[r, c] = affine[r, c] * factor;
                shift += affine[r, c] * (factor - 1) / 2.0;
            }
            a[r, 3] = affine[r, 3] + shift;
        }
        return a;
    }

    static void Check(Tensor t, int factor)
    {
        if (factor < 1) throw new UnsupException($"downsampling factor {factor}: must be at least 1");
        if (t.dim() is not (4 or 5)) throw new ArgumentException($"expected [N, C, *spatial] with 2 or 3 spatial axes, got [{string.Join(", ", t.shape)}]");
        for (int i = 2; i < t.dim(); i++)
            if (t.shape[i] < factor)
                throw new UnsupException($"an image axis of {t.shape[i]} voxels cannot be downsampled by {factor}");
    }
}
