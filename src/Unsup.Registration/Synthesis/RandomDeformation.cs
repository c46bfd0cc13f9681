using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// SynthSeg's spatial augmentation of a label map: a random affine map about the volume centre (rotation,
/// scaling, shear, translation) plus a smooth random elastic displacement (Gaussian values on a coarse
/// grid, upsampled), applied with nearest-neighbour sampling so the result holds only the map's own labels.
/// All amounts are in voxels and degrees of the array grid; zero everywhere is the identity.
/// </summary>
public sealed record RandomDeformation
{
    public double MaxRotationDegrees { get; init; } = 10;
    /// <summary>Each axis scales by 1 + U(-this, this).</summary>
    public double MaxScaling { get; init; } = 0.1;
    public double MaxShear { get; init; } = 0.01;
    public double MaxTranslationVoxels { get; init; } = 2;
    /// <summary>Largest standard deviation (voxels) of the elastic control values; each map draws U(0, this).</summary>
    public double MaxElasticStdVoxels { get; init; } = 2;
    public int ElasticGrid { get; init; } = 5;

    public static RandomDeformation None => new() { MaxRotationDegrees = 0, MaxScaling = 0, MaxShear = 0, MaxTranslationVoxels = 0, MaxElasticStdVoxels = 0 };
    public static RandomDeformation ElasticOnly(double maxStdVoxels) => None with { MaxElasticStdVoxels = maxStdVoxels };

    /// <summary>The label map [*spatial] resampled by a freshly drawn deformation (same grid, same dtype).</summary>
    public Tensor Apply(Tensor labels, Generator gen)
    {
        using var scope = NewDisposeScope();
        var u = Displacement(labels.shape, gen, labels.device);
        var moved = SpatialTransformer.Warp(labels.unsqueeze(0).unsqueeze(0), u, Interpolation.Nearest);
        return moved.squeeze(0).squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A displacement [1, nd, *spatial] in voxels, channel 0 along the last array axis (the SpatialTransformer
    /// convention): u(p) = A (p − c) + c + t + e(p) − p.
    /// </summary>
    public Tensor Displacement(long[] spatial, Generator gen, Device? device = null)
    {
        int nd = spatial.Length;
        if (nd is not (2 or 3)) throw new ArgumentException($"a 2D or 3D grid is expected, got [{string.Join(", ", spatial)}]");
        using var scope = NewDisposeScope();
        var a = tensor(AffineMatrix(nd, gen), [nd, nd]);
        var t = (rand([nd], ScalarType.Float64, generator: gen) * 2 - 1) * MaxTranslationVoxels;
        var axes = spatial.Select(n => arange(n, dtype: ScalarType.Float64)).ToArray();
        var p = stack(meshgrid(axes, indexing: "ij"));                       // [nd, *spatial], array-axis order
        var centre = tensor(spatial.Select(n => (n - 1) / 2.0).ToArray()).reshape([nd, .. Enumerable.Repeat(1L, nd)]);
        var q = einsum("ij,j...->i...", a, p - centre) + centre + t.reshape([nd, .. Enumerable.Repeat(1L, nd)]);
        var u = (q - p).to(ScalarType.Float32).unsqueeze(0);
        double elastic = MaxElasticStdVoxels * rand([1], ScalarType.Float64, generator: gen).item<double>();
        if (elastic > 0)
        {
            var coarse = randn([1, nd, .. Enumerable.Repeat((long)ElasticGrid, nd)], generator: gen) * elastic;
            var mode = nd == 3 ? InterpolationMode.Trilinear : InterpolationMode.Bilinear;
            u = u + nn.functional.interpolate(coarse, size: spatial, mode: mode, align_corners: true);
        }
        // array-axis order → the official channel order (channel 0 = last axis)
        return u.flip(1).to(device ?? CPU).MoveToOuterDisposeScope();
    }

    double[] AffineMatrix(int nd, Generator gen)
    {
        double U(double max) => max == 0 ? 0 : (2 * rand([1], ScalarType.Float64, generator: gen).item<double>() - 1) * max;
        var angles = Enumerable.Range(0, nd == 3 ? 3 : 1).Select(_ => U(MaxRotationDegrees) * Math.PI / 180).ToArray();
        var scales = Enumerable.Range(0, nd).Select(_ => 1 + U(MaxScaling)).ToArray();
        var m = Identity(nd);
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < nd; j++)
                if (i != j) m[i, j] = U(MaxShear);
        for (int i = 0; i < nd; i++) for (int j = 0; j < nd; j++) m[i, j] *= scales[i];
        if (nd == 2) m = Mul(Rotation(0, 1, angles[0], 2), m);
        else m = Mul(Rotation(0, 1, angles[0], 3), Mul(Rotation(0, 2, angles[1], 3), Mul(Rotation(1, 2, angles[2], 3), m)));
        return m.Cast<double>().ToArray();
    }

    static double[,] Identity(int n) { var m = new double[n, n]; for (int i = 0; i < n; i++) m[i, i] = 1; return m; }

    static double[,] Rotation(int a, int b, double angle, int n)
    {
        var r = Identity(n);
        r[a, a] = Math.Cos(angle); r[a, b] = -Math.Sin(angle);
        r[b, a] = Math.Sin(angle); r[b, b] = Math.Cos(angle);
        return r;
    }

    static double[,] Mul(double[,] x, double[,] y)
    {
        int n = x.GetLength(0);
        var r = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) for (int k = 0; k < n; k++) r[i, j] += x[i, k] * y[k, j];
        return r;
    }
}
