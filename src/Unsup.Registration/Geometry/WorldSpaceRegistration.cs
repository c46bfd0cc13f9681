using Unsup.Registration.Model;
using Unsup.Registration.Transforms;
using static TorchSharp.torch;

namespace Unsup.Registration.Geometry;

/// <summary>
/// The maps of a registration of images on any grids, each expressed on the grid it is defined on:
/// for every fixed voxel, the voxel coordinates (i, j, k) of its corresponding point in the moving image
/// (<see cref="FixedToMovingVoxels"/>) and that point's world position; likewise for every moving voxel.
/// Network-space fields are kept for the deformation metrics.
/// </summary>
public sealed class WorldSpaceResult : IDisposable
{
    public required Tensor FixedToMovingVoxels { get; init; }   // [*fixed, 3] moving (i, j, k)
    public required Tensor FixedToMovingWorld { get; init; }    // [*fixed, 3] moving world mm (RAS)
    public required Tensor MovingToFixedVoxels { get; init; }   // [*moving, 3] fixed (i, j, k)
    public required Tensor NetworkForward { get; init; }        // [1, 3, *network] voxels
    public required Tensor NetworkInverse { get; init; }
    public required Tensor FixedInNetwork { get; init; }
    public required Tensor MovingInNetwork { get; init; }
    public required VolumeGeometry Network { get; init; }
    public double SecondsNetwork { get; init; }

    public void Dispose()
    {
        foreach (var t in new[] { FixedToMovingVoxels, FixedToMovingWorld, MovingToFixedVoxels, NetworkForward, NetworkInverse, FixedInNetwork, MovingInNetwork }) t.Dispose();
    }
}

/// <summary>
/// SYMNet on images with their own world geometry: both are resampled (trilinearly, once) into the network's space —
/// the fixed image as it lies in the world, the moving image through the affine <c>fixedToMoving</c> (world → world) —
/// registered there, and the composed map (network field, then the affine) is evaluated at every voxel of the
/// fixed grid (and the inverse map at every voxel of the moving grid), so outputs are sampled from the original
/// images in one interpolation.
/// </summary>
public static class WorldSpaceRegistration
{
    public static WorldSpaceResult Register(SymNetRegistration reg, Tensor fixedVolume, VolumeGeometry fixedGrid,
        Tensor movingVolume, VolumeGeometry movingGrid, double[,] fixedToMoving, VolumeGeometry network)
    {
        using var scope = NewDisposeScope();
        var netPts = WorldResampler.WorldPoints(network);
        var fixedN = WorldResampler.Sample(fixedVolume.to(ScalarType.Float32), WorldResampler.Transform(netPts, Matrix4.Inverse(fixedGrid.Affine)));
        var movingN = WorldResampler.Sample(movingVolume.to(ScalarType.Float32),
            WorldResampler.Transform(netPts, Matrix4.Multiply(Matrix4.Inverse(movingGrid.Affine), fixedToMoving)));
        netPts.Dispose();
        using var result = reg.Register(fixedN, movingN);
        var fwd = result.Forward.cpu(); var inv = result.Inverse.cpu();

        // fixed voxel → world → network field → affine → moving world / voxels
        var fixedPts = WorldResampler.WorldPoints(fixedGrid);
        var displaced = WorldResampler.Displace(fixedPts, fwd, network);
        fixedPts.Dispose();
        var movingWorld = WorldResampler.Transform(displaced, fixedToMoving);
        displaced.Dispose();
        var movingVox = WorldResampler.Transform(movingWorld, Matrix4.Inverse(movingGrid.Affine));

        // moving voxel → world → inverse affine → inverse network field → fixed voxels
        var movingPts = WorldResampler.WorldPoints(movingGrid);
        var back = WorldResampler.Transform(movingPts, Matrix4.Inverse(fixedToMoving));
        movingPts.Dispose();
        var fixedWorld = WorldResampler.Displace(back, inv, network);
        var fixedVox = WorldResampler.Transform(fixedWorld, Matrix4.Inverse(fixedGrid.Affine));

        return new WorldSpaceResult
        {
            FixedToMovingVoxels = movingVox.MoveToOuterDisposeScope(), FixedToMovingWorld = movingWorld.MoveToOuterDisposeScope(),
            MovingToFixedVoxels = fixedVox.MoveToOuterDisposeScope(),
            NetworkForward = fwd.MoveToOuterDisposeScope(), NetworkInverse = inv.MoveToOuterDisposeScope(),
            FixedInNetwork = fixedN.MoveToOuterDisposeScope(), MovingInNetwork = movingN.MoveToOuterDisposeScope(),
            Network = network, SecondsNetwork = result.Seconds,
        };
    }

    /// <summary>
    /// A point map [*grid, 3] (voxel coordinates in another grid) as the toolkit's voxel displacement field on this grid,
    /// [1, 3, *grid] with channel 0 along the last array axis: coordinates minus the voxel's own index.
    /// </summary>
    public static Tensor ToVoxelDisplacement(Tensor pointMap)
    {
        using var scope = NewDisposeScope();
        var shape = pointMap.shape[..^1];
        var d = (pointMap - WorldResampler.VoxelIndices(shape)).flip(-1);
        return d.permute(3, 0, 1, 2).unsqueeze(0).contiguous().MoveToOuterDisposeScope();
    }
}
