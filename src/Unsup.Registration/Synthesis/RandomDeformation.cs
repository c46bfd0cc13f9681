using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Synthesis;

/// <summary>
/// SynthSeg's spatial augmentation of a label map (lab2im's RandomSpatialDeformation and RandomFlip, with the
/// brain generator's defaults): a random affine map about the volume centre, scaling × shearing × rotation, and
/// a diffeomorphic elastic deformation, a stationary velocity field drawn on a coarse grid, upsampled to half the
/// volume, integrated by scaling and squaring (<see cref="DiffeomorphicTransform"/>) and upsampled to the volume;
/// then, with probability <see cref="FlipProbability"/>, a left-right flip that swaps left and right labels
/// (<see cref="LeftRightLabels"/>). Nearest-neighbour sampling: the result holds only the map's own labels.
/// Amounts are in voxels and degrees of the array grid; zero everywhere (<see cref="None"/>) is the identity.
/// </summary>
public sealed record RandomDeformation
{
    /// <summary>Each rotation angle is U(-this, this) degrees (SynthSeg's rotation_bounds, 15).</summary>
    public double MaxRotationDegrees { get; init; } = 15;
    /// <summary>Each axis scales by U(1 - this, 1 + this) (SynthSeg's scaling_bounds, 0.2).</summary>
    public double MaxScaling { get; init; } = 0.2;
    /// <summary>Each off-diagonal shear is U(-this, this) (SynthSeg's shearing_bounds, 0.012).</summary>
    public double MaxShear { get; init; } = 0.012;
    /// <summary>Each axis shifts by U(-this, this) voxels (SynthSeg's translation_bounds: none by default).</summary>
    public double MaxTranslationVoxels { get; init; }
    /// <summary>Largest std (voxels) of the coarse velocity values; each map draws U(0, this) (SynthSeg's nonlin_std, 4).</summary>
    public double MaxVelocityStd { get; init; } = 4;
    /// <summary>Coarse velocity grid size / volume size per axis, rounded up (SynthSeg's nonlin_scale, 0.04).</summary>
    public double VelocityScale { get; init; } = 0.04;
    /// <summary>Scaling-and-squaring steps (neuron's VecInt, 7).</summary>
    public int IntegrationSteps { get; init; } = DiffeomorphicTransform.DefaultSteps;
    /// <summary>Chance of a left-right flip (SynthSeg's RandomFlip, 0.5).</summary>
    public double FlipProbability { get; init; } = 0.5;
    /// <summary>The array axis that runs left-right (<see cref="LeftRightLabels.Axis"/> finds it from an affine).</summary>
    public int FlipAxis { get; init; }

    public static RandomDeformation None => new()
    {
        MaxRotationDegrees = 0, MaxScaling = 0, MaxShear = 0, MaxTranslationVoxels = 0, MaxVelocityStd = 0, FlipProbability = 0,
    };
    public static RandomDeformation ElasticOnly(double maxVelocityStd) => None with { MaxVelocityStd = maxVelocityStd };

    /// <summary>The label map [*spatial] resampled by a freshly drawn deformation, maybe flipped (same grid, same dtype).</summary>
    public Tensor Apply(Tensor labels, Generator gen)
    {
        using var scope = NewDisposeScope();
        var u = Displacement(labels.shape, gen, labels.device);
        var moved = SpatialTransformer.Warp(labels.unsqueeze(0).unsqueeze(0), u, Interpolation.Nearest).squeeze(0).squeeze(0);
        bool flip = rand([1], ScalarType.Float64, generator: gen).item<double>() < FlipProbability;
        if (flip)
        {
            if (FlipAxis < 0 || FlipAxis >= labels.dim()) throw new ArgumentException($"flip axis {FlipAxis} of a {labels.dim()}D map");
            moved = LeftRightLabels.Swap(moved.flip(FlipAxis));
        }
        return moved.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A displacement [1, nd, *spatial] in voxels, channel 0 along the last array axis (the SpatialTransformer
    /// convention): u(p) = A (p + e(p) − c) + c + t − p, e the integrated velocity field.
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
        var column = (long[])[nd, .. Enumerable.Repeat(1L, nd)];
        var centre = tensor(spatial.Select(n => (n - 1) / 2.0).ToArray()).reshape(column);
        var x = p - centre;
        var e = Elastic(spatial, gen);
        if (e is not null) x = x + e.flip(1).squeeze(0).to(ScalarType.Float64);   // channel order → array-axis order
        var q = einsum("ij,j...->i...", a, x) + centre + t.reshape(column);
        var u = (q - p).to(ScalarType.Float32).unsqueeze(0);
        // array-axis order → the SpatialTransformer channel order (channel 0 = last axis)
        return u.flip(1).to(device ?? CPU).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The integrated SVF as SynthSeg draws it ([1, nd, *spatial], channel 0 = last axis), or null when off. Its values
    /// are not rescaled when upsampled from half size, as in SynthSeg (neuron's Resize).
    /// </summary>
    Tensor? Elastic(long[] spatial, Generator gen)
    {
        int nd = spatial.Length;
        var small = spatial.Select(n => (long)Math.Max(1, Math.Ceiling(n * VelocityScale))).ToArray();
        double std = MaxVelocityStd * rand([1], ScalarType.Float64, generator: gen).item<double>();
        var v = randn([1, nd, .. small], generator: gen) * std;
        if (MaxVelocityStd <= 0) return null;
        var mode = nd == 3 ? InterpolationMode.Trilinear : InterpolationMode.Bilinear;
        var half = spatial.Select((n, i) => Math.Max(n / 2, small[i])).ToArray();
        v = nn.functional.interpolate(v, size: half, mode: mode, align_corners: true);
        using var integrated = DiffeomorphicTransform.Integrate(v, IntegrationSteps);
        return nn.functional.interpolate(integrated, size: spatial, mode: mode, align_corners: true);
    }

    /// <summary>SynthSeg's sample_affine_transform without translation: scaling × shearing × rotation (Rx Ry Rz in 3D).</summary>
    double[] AffineMatrix(int nd, Generator gen)
    {
        double U(double max) => (2 * rand([1], ScalarType.Float64, generator: gen).item<double>() - 1) * max;
        var angles = Enumerable.Range(0, nd == 3 ? 3 : 1).Select(_ => U(MaxRotationDegrees) * Math.PI / 180).ToArray();
        var shears = Enumerable.Range(0, nd * nd - nd).Select(_ => U(MaxShear)).ToArray();
        var scales = Enumerable.Range(0, nd).Select(_ => 1 + U(MaxScaling)).ToArray();
        var shear = Identity(nd);
        int k = 0;
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < nd; j++)
                if (i != j) shear[i, j] = shears[k++];
        var scale = Identity(nd);
        for (int i = 0; i < nd; i++) scale[i, i] = scales[i];
        double[,] rot;
        if (nd == 2)
        {
            double c = Math.Cos(angles[0]), s = Math.Sin(angles[0]);
            rot = new[,] { { c, s }, { -s, c } };
        }
        else rot = Mul(Rotation(1, 2, angles[0]), Mul(Rotation(2, 0, angles[1]), Rotation(0, 1, angles[2])));
        return Mul(scale, Mul(shear, rot)).Cast<double>().ToArray();
    }

    static double[,] Identity(int n) { var m = new double[n, n]; for (int i = 0; i < n; i++) m[i, i] = 1; return m; }

    /// <summary>A 3D rotation in the (a, b) plane: Rx = (1, 2), Ry = (2, 0), Rz = (0, 1), as SynthSeg's create_rotation_transform.</summary>
    static double[,] Rotation(int a, int b, double angle)
    {
        var r = Identity(3);
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
