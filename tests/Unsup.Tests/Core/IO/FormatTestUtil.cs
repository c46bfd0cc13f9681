using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Tests.Core.IO;

static class FormatTestUtil
{
    /// <summary>Exact element-wise equality of shape, dtype and values.</summary>
    public static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.True(expected.eq(actual).all().item<bool>(), "tensor values differ");
    }

    /// <summary>A tensor of <paramref name="shape"/> whose values encode their position, so any axis mix-up shows.</summary>
    public static Tensor Positional(long[] shape, ScalarType dtype)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var t = torch.arange(n, ScalarType.Float64).reshape(shape);
        if (dtype is ScalarType.Byte) t = t.remainder(251);
        else if (dtype is ScalarType.Int8) t = t.remainder(251) - 125;
        else if (dtype is ScalarType.Int16) t = t - 1000;
        else if (dtype is ScalarType.Float32 or ScalarType.Float64) t = t * 0.37 - 5.5;
        else if (dtype is ScalarType.Int64) t = t * 1_000_003 - 7;
        else if (dtype is ScalarType.Bool) return t.remainder(3).eq(0);
        return t.to_type(dtype);
    }

    /// <summary>Order-sensitive checksum sum(x_flat[i] * ((i % 1009) + 1)), computed the same way in the python scripts.</summary>
    public static double Checksum(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var f = t.flatten().to_type(ScalarType.Float64);
        var w = torch.arange(f.numel(), ScalarType.Float64).remainder(1009) + 1;
        return (f * w).sum().item<double>();
    }

    public const string PyChecksum = "def checksum(a):\n    f = np.asarray(a, dtype=np.float64).ravel(order='C')\n    return float((f * ((np.arange(f.size) % 1009) + 1)).sum())\n";

    public static void AssertAffine(double[,] expected, double[,] actual, double tol = 1e-4)
    {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.True(Math.Abs(expected[i, j] - actual[i, j]) <= tol, $"affine[{i},{j}]: expected {expected[i, j]}, got {actual[i, j]}");
    }

    /// <summary>Rz(10°)·Rx(5°), voxels 1.5 x 2 x 0.8 mm, x flipped (negative determinant, so qfac = -1), shifted origin.</summary>
    public static double[,] Oblique()
    {
        double cz = Math.Cos(10 * Math.PI / 180), sz = Math.Sin(10 * Math.PI / 180);
        double cx = Math.Cos(5 * Math.PI / 180), sx = Math.Sin(5 * Math.PI / 180);
        double[,] rz = { { cz, -sz, 0 }, { sz, cz, 0 }, { 0, 0, 1 } };
        double[,] rx = { { 1, 0, 0 }, { 0, cx, -sx }, { 0, sx, cx } };
        double[] zoom = [-1.5, 2, 0.8];
        double[] offset = [12.5, -30.25, 7];
        var m = new double[4, 4];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double r = 0;
                for (int k = 0; k < 3; k++) r += rz[i, k] * rx[k, j];
                m[i, j] = r * zoom[j];
            }
            m[i, 3] = offset[i];
        }
        m[3, 3] = 1;
        return m;
    }
}
