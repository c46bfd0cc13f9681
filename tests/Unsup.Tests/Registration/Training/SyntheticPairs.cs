using static TorchSharp.torch;

namespace Unsup.Tests.Registration.Training;

/// <summary>Small synthetic subjects: two Gaussian blobs moved by a per-subject shift, with their label maps.</summary>
static class SyntheticPairs
{
    /// <summary>2D [1, 1, n, n] image of two blobs shifted by (dh, dw) voxels.</summary>
    public static Tensor Blobs2D(int n, double dh, double dw)
    {
        using var scope = NewDisposeScope();
        var g = meshgrid([arange(n, dtype: ScalarType.Float32), arange(n, dtype: ScalarType.Float32)], indexing: "ij");
        double c = n / 2.0;
        var img = exp(-((g[0] - c + 2 - dh).square() + (g[1] - c + 1 - dw).square()) / (n * n / 50.0))
                  + 0.7 * exp(-((g[0] - c - 4 - dh).square() + (g[1] - c + 5 - dw).square()) / (n * n / 100.0));
        return img.reshape(1, 1, n, n).MoveToOuterDisposeScope();
    }

    /// <summary>3D [1, 1, n, n, n] blob image shifted along each axis.</summary>
    public static Tensor Blobs3D(int n, double dd, double dh, double dw)
    {
        using var scope = NewDisposeScope();
        var g = meshgrid([arange(n, dtype: ScalarType.Float32), arange(n, dtype: ScalarType.Float32), arange(n, dtype: ScalarType.Float32)], indexing: "ij");
        double c = n / 2.0;
        var r2 = (g[0] - c - dd).square() + (g[1] - c + 2 - dh).square() + (g[2] - c + 1 - dw).square();
        var img = exp(-r2 / (n * n / 40.0)) + 0.5 * exp(-((g[0] - c + 5 - dd).square() + (g[1] - c - 4 - dh).square() + (g[2] - c - dw).square()) / (n * n / 120.0));
        return img.reshape(1, 1, n, n, n).MoveToOuterDisposeScope();
    }

    /// <summary>Label map of a blob image: 1 where it exceeds 0.5, 2 where it exceeds 0.2 only.</summary>
    public static Tensor Labels(Tensor image) =>
        where(image > 0.5, full_like(image, 1), where(image > 0.2, full_like(image, 2), zeros_like(image))).to(ScalarType.Int64);

    /// <summary>S 2D subjects [S, 1, n, n] with deterministic shifts, and their label maps.</summary>
    public static (Tensor Images, Tensor Labels) Subjects2D(int count, int n = 32)
    {
        using var scope = NewDisposeScope();
        var imgs = Enumerable.Range(0, count).Select(k => Blobs2D(n, 2.5 * Math.Sin(k * 1.7), 2.5 * Math.Cos(k * 2.3))).ToArray();
        var x = cat(imgs, 0);
        return (x.MoveToOuterDisposeScope(), Labels(x).MoveToOuterDisposeScope());
    }
}
