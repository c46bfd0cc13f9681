using TorchSharp;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Geometry;

/// <summary>
/// Resampling between grids in world space: points are [*spatial, 3] float32 tensors of world (RAS mm) or voxel
/// (i, j, k) coordinates, moved by 4x4 matrices or by a displacement field on another grid, and volumes are sampled at
/// them with grid_sample (trilinear or nearest, align_corners = true, zero outside).
/// </summary>
public static class WorldResampler
{
    /// <summary>The voxel indices (i, j, k) of every voxel of a grid, [*shape, 3] float32.</summary>
    public static Tensor VoxelIndices(long[] shape, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var axes = shape.Select(n => arange(n, dtype: ScalarType.Float32, device: device)).ToArray();
        return stack(meshgrid(axes, indexing: "ij"), -1).MoveToOuterDisposeScope();
    }

    /// <summary>The world coordinates of every voxel centre of <paramref name="grid"/>, [*shape, 3].</summary>
    public static Tensor WorldPoints(VolumeGeometry grid) => Transform(VoxelIndices(grid.Shape), grid.Affine);

    /// <summary>points [..., 3] mapped by the affine 4x4 m (p ↦ M p + t).</summary>
    public static Tensor Transform(Tensor points, double[,] m)
    {
        using var scope = NewDisposeScope();
        var (lin, t) = ToTensors(m, points.dtype, points.device);
        return (torch.matmul(points, lin.t()) + t).MoveToOuterDisposeScope();
    }

    /// <summary>The linear part [3, 3] and translation [3] of a 4x4 matrix as tensors.</summary>
    public static (Tensor Linear, Tensor Translation) ToTensors(double[,] m, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var lin = new double[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) lin[i * 3 + j] = m[i, j];
        return (tensor(lin, dtype: dtype, device: device).reshape(3, 3), tensor(new[] { m[0, 3], m[1, 3], m[2, 3] }, dtype: dtype, device: device));
    }

    /// <summary>
    /// Samples <paramref name="volume"/> ([*spatial] or [C, *spatial], 3 spatial axes) at voxel coordinates
    /// <paramref name="voxels"/> [*out, 3] (i, j, k of the volume): [*out] or [C, *out]. Integer volumes (label maps)
    /// are sampled with nearest neighbour and keep their type.
    /// </summary>
    public static Tensor Sample(Tensor volume, Tensor voxels, Interpolation mode = Interpolation.Linear)
    {
        using var scope = NewDisposeScope();
        bool single = volume.dim() == 3;
        var v = single ? volume.unsqueeze(0) : volume;
        bool integer = !v.is_floating_point();
        if (integer) mode = Interpolation.Nearest;
        var src = v.to(voxels.dtype).unsqueeze(0);
        var grid = NormalizedGrid(voxels, v.shape[1..]).unsqueeze(0);
        var outp = nn.functional.grid_sample(src, grid, mode == Interpolation.Nearest ? GridSampleMode.Nearest : GridSampleMode.Bilinear,
            GridSamplePaddingMode.Zeros, align_corners: true)[0];
        if (integer) outp = outp.round().to(volume.dtype);
        return (single ? outp[0] : outp).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples <paramref name="volume"/> ([*spatial] or [C, *spatial]) at <paramref name="outToVolume"/> · [q; 1] for
    /// every voxel q of a grid of <paramref name="outShape"/>: the same as <see cref="Sample"/> at
    /// Transform(VoxelIndices(outShape), outToVolume), but on the CPU without the [*out, 3] point tensors (on a 256³
    /// grid, four of 200 MB each and most of an affine job's time and memory).
    /// </summary>
    public static Tensor SampleAffine(Tensor volume, double[,] outToVolume, long[] outShape, Interpolation mode = Interpolation.Linear)
    {
        using var scope = NewDisposeScope();
        if (volume.device_type != DeviceType.CPU || volume.dim() is not (3 or 4))
            return Sample(volume, Transform(VoxelIndices(outShape, volume.device), outToVolume), mode).MoveToOuterDisposeScope();
        bool single = volume.dim() == 3, integer = !volume.is_floating_point();
        var m = new double[12];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) m[i * 4 + j] = outToVolume[i, j];
        var v = single ? volume.unsqueeze(0) : volume;
        var channels = Enumerable.Range(0, (int)v.shape[0])
            .Select(c => Affine.AffineSamplingKernel.Resample(v[c].to(ScalarType.Float32), m, outShape, integer || mode == Interpolation.Nearest)).ToArray();
        var outp = single ? channels[0] : stack(channels);
        if (integer) outp = outp.round().to(volume.dtype);
        return outp.MoveToOuterDisposeScope();
    }

    /// <summary>Voxel coordinates (i, j, k) [..., 3] of a volume of <paramref name="spatial"/> shape as grid_sample's [-1, 1] (x = last axis) grid.</summary>
    public static Tensor NormalizedGrid(Tensor voxels, long[] spatial)
    {
        using var scope = NewDisposeScope();
        var scale = tensor(spatial.Select(n => n > 1 ? 2.0 / (n - 1) : 0.0).ToArray(), dtype: voxels.dtype, device: voxels.device);
        var g = voxels * scale - 1;
        return g.flip(-1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// World points moved by a displacement field in voxels ([1, 3, *spatial] with channel 0 along the last array axis,
    /// as SYMNet's) defined on <paramref name="fieldGrid"/>: x ↦ A (q + u(q)) with q = A⁻¹ x, u interpolated
    /// trilinearly; outside the field's grid u = 0.
    /// </summary>
    public static Tensor Displace(Tensor worldPoints, Tensor field, VolumeGeometry fieldGrid)
    {
        using var scope = NewDisposeScope();
        var q = Transform(worldPoints, Matrix4.Inverse(fieldGrid.Affine));
        var ijkField = field[0].flip(0); // channels (i, j, k)
        var u = Sample(ijkField.to(q.dtype), q); // [3, *out]
        var moved = q + u.permute([.. Enumerable.Range(1, (int)u.dim() - 1).Select(i => (long)i), 0]);
        return Transform(moved, fieldGrid.Affine).MoveToOuterDisposeScope();
    }

    /// <summary>Centre of mass (world mm) of a volume's positive values; the grid's centre when there are none.</summary>
    public static double[] CentreOfMass(Tensor volume, VolumeGeometry grid)
    {
        using var scope = NewDisposeScope();
        var w = volume.to(ScalarType.Float64).clamp_min(0);
        double total = w.sum().item<double>();
        if (!(total > 0)) return grid.Centre;
        // per-axis marginals: no [*shape, 3] index tensor for large volumes
        var ijk = new double[3];
        for (int a = 0; a < 3; a++)
        {
            var other = Enumerable.Range(0, 3).Where(d => d != a).Select(d => (long)d).ToArray();
            var profile = w.sum(other);
            ijk[a] = (profile * arange(grid.Shape[a], dtype: ScalarType.Float64)).sum().item<double>() / total;
        }
        return Matrix4.Apply(grid.Affine, ijk);
    }
}
