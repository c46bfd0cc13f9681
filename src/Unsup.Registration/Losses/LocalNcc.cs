using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Losses;

/// <summary>
/// Local normalised cross-correlation loss as in the official SYMNet code (after VoxelMorph):
/// per voxel the squared correlation cross² / (var_I · var_J + eps) over a cubic window, the loss is
/// minus its mean, so -1 is a perfect match (in windows that are not flat).
/// </summary>
/// <remarks>
/// Window sums come from a box filter with zero padding, applied separably (one 1-D pass per axis)
/// to all five statistics at once; mathematically identical to the official w^nd convolution. In 3D on the CPU
/// (float32) the filter is <see cref="BoxSumFunction"/>; elsewhere depthwise convolutions.
/// </remarks>
public sealed class LocalNcc : nn.Module<Tensor, Tensor, Tensor>
{
    public int Window { get; }
    public double Eps { get; }

    /// <param name="window">odd window width; SYMNet uses 7 in 3D (Train_sym_onepass; the neurite-OASIS run used 5) and 5 in 2D.</param>
    public LocalNcc(int window, double eps = 1e-5) : base(nameof(LocalNcc))
    {
        if (window < 1 || window % 2 == 0) throw new ArgumentOutOfRangeException(nameof(window), window, "window must be odd and positive");
        Window = window;
        Eps = eps;
        RegisterComponents();
    }

    /// <summary>The default window for a dimensionality: 7 in 3D, 5 in 2D.</summary>
    public static int DefaultWindow(int dims) => dims == 3 ? 7 : 5;

    /// <param name="i">images [N, 1, *spatial]</param>
    /// <param name="j">images of the same shape</param>
    public override Tensor forward(Tensor i, Tensor j)
    {
        using var scope = NewDisposeScope();
        int nd = (int)i.dim() - 2;
        if (nd is not (2 or 3) || i.shape[1] != 1 || !i.shape.SequenceEqual(j.shape))
            throw new ArgumentException($"LocalNcc expects two [N, 1, *spatial] tensors of one shape, got [{string.Join(", ", i.shape)}] and [{string.Join(", ", j.shape)}]");

        var stats = cat([i, j, i * i, j * j, i * j], 1);
        var sums = BoxSum(stats, nd);
        var iSum = sums[.., 0..1];
        var jSum = sums[.., 1..2];
        var i2Sum = sums[.., 2..3];
        var j2Sum = sums[.., 3..4];
        var ijSum = sums[.., 4..5];

        double n = Math.Pow(Window, nd);
        var uI = iSum / n;
        var uJ = jSum / n;
        var cross = ijSum - uJ * iSum - uI * jSum + uI * uJ * n;
        var iVar = i2Sum - 2 * uI * iSum + uI * uI * n;
        var jVar = j2Sum - 2 * uJ * jSum + uJ * uJ * n;
        var cc = cross * cross / (iVar * jVar + Eps);
        return (-cc.mean()).MoveToOuterDisposeScope();
    }

    private Tensor BoxSum(Tensor x, int nd)
    {
        if (nd == 3 && x.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32) return BoxSumFunction.Apply(x, Window);
        long channels = x.shape[1];
        int pad = Window / 2;
        var y = x;
        for (int axis = 0; axis < nd; axis++)
        {
            var kshape = new long[nd + 2];
            Array.Fill(kshape, 1L);
            kshape[0] = channels;
            kshape[axis + 2] = Window;
            var weight = ones(kshape, dtype: x.dtype, device: x.device);
            var padding = new long[nd];
            padding[axis] = pad;
            y = nd == 3
                ? nn.functional.conv3d(y, weight, padding: padding, groups: channels)
                : nn.functional.conv2d(y, weight, padding: padding, groups: channels);
        }
        return y;
    }
}
