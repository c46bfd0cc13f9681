using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>Reads and checks the NIfTI inputs of the registration verbs: image pairs on one grid, integer label maps.</summary>
public static class RegistrationInputs
{
    /// <summary>A 3D image (or a 2D one stored as X,Y,1 when <paramref name="dims"/> is 2) as float32 [*spatial].</summary>
    public static (NiftiImage Image, Tensor Voxels) ReadImage(string path, int dims = 3)
    {
        var img = NiftiReader.Read(path);
        try
        {
            var voxels = AsSpatial(img.ToFloat(), path, dims, "image");
            return (img, voxels);
        }
        catch { img.Dispose(); throw; }
    }

    /// <summary>An integer label map [*spatial] (int64); non-integer values are refused.</summary>
    public static Tensor ReadLabels(string path, long[] expectedShape, int dims = 3)
    {
        using var img = NiftiReader.Read(path);
        using var scope = NewDisposeScope();
        var f = AsSpatial(img.ToFloat(), path, dims, "label map");
        if (!f.isfinite().all().item<bool>() || !(f == f.round()).all().item<bool>())
            throw UnsupException.ForFile(path, "is not a label map: it holds non-integer values (give a segmentation with integer label ids)");
        if (!f.shape.SequenceEqual(expectedShape))
            throw UnsupException.ForFile(path, $"label map shape {Shape(f.shape)} does not match the image shape {Shape(expectedShape)}");
        if (!(f != 0).any().item<bool>())
            throw UnsupException.ForFile(path, "is an empty label map: every voxel is 0 (background), so there is nothing to warp or score");
        return f.to(ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A brain mask on its image's grid (nonzero = inside) as bool [*spatial]; a mask with another shape or another
    /// voxel-to-world affine than <paramref name="imagePath"/> is refused.
    /// </summary>
    public static Tensor ReadMask(string path, string imagePath, NiftiImage image, int dims = 3)
    {
        using var img = NiftiReader.Read(path);
        using var scope = NewDisposeScope();
        var f = AsSpatial(img.ToFloat(), path, dims, "mask");
        var imageShape = image.Shape.Take(dims).ToArray();
        if (!f.shape.SequenceEqual(imageShape))
            throw UnsupException.ForFile(path, $"mask of shape {Shape(f.shape)} is on another grid than its image {imagePath} ({Shape(imageShape)}); " +
                "a mask must share its image's voxel grid (resample it with nearest neighbour first)");
        bool oriented = Geometry.VolumeGeometry.HasOrientation(img.Header) && Geometry.VolumeGeometry.HasOrientation(image.Header);
        if (oriented && Geometry.Matrix4.MaxAbsDifference(img.Affine, image.Affine) > 1e-3)
            throw UnsupException.ForFile(path, $"mask is on another grid than its image {imagePath}: same shape but another voxel-to-world affine " +
                $"({Geometry.Matrix4.Format(img.Affine)} vs {Geometry.Matrix4.Format(image.Affine)}); resample it onto the image's grid first");
        var mask = f != 0;
        if (!mask.any().item<bool>()) throw UnsupException.ForFile(path, "mask is empty (no nonzero voxel)");
        return mask.MoveToOuterDisposeScope();
    }

    public static void CheckSameGrid(string fixedPath, Tensor fixedVoxels, string movingPath, Tensor movingVoxels)
    {
        if (!fixedVoxels.shape.SequenceEqual(movingVoxels.shape))
            throw new UnsupException($"{movingPath}: shape {Shape(movingVoxels.shape)} differs from the fixed image {fixedPath} ({Shape(fixedVoxels.shape)}); " +
                                     "resample both images to one grid first (SYMNet expects affinely aligned images)");
        // Foreground = above each image's own minimum (the background of skull-stripped or padded scans).
        using var scope = NewDisposeScope();
        if (!((fixedVoxels > fixedVoxels.min()) & (movingVoxels > movingVoxels.min())).any().item<bool>())
            throw new UnsupException($"{movingPath} and {fixedPath} do not overlap: no voxel is foreground (above the image's minimum) in both; " +
                                     "SYMNet is deformable-only and expects affinely aligned images: align them first");
    }

    /// <summary>
    /// Refuses images SYMNet cannot register meaningfully: NaN or infinite voxels (min-max scaling would spread them
    /// into every output) and constant images (min = max: nothing to align; scaling would make them all zero).
    /// </summary>
    public static void CheckIntensities(string path, Tensor voxels)
    {
        using var scope = NewDisposeScope();
        long bad = (~voxels.isfinite()).sum().item<long>();
        if (bad > 0)
            throw UnsupException.ForFile(path, $"{bad} of {voxels.numel()} voxels are NaN or infinite; replace them (e.g. by 0) before registering");
        double lo = voxels.min().item<float>(), hi = voxels.max().item<float>();
        if (lo == hi)
            throw UnsupException.ForFile(path, $"is a constant image (every voxel is {lo}): there is nothing to register");
    }

    static Tensor AsSpatial(Tensor t, string path, int dims, string what)
    {
        var shape = t.shape;
        // Trailing singleton axes (X,Y,Z,1 or a 2D slice X,Y,1) are not real dimensions.
        int nd = shape.Length;
        while (nd > dims && shape[nd - 1] == 1) nd--;
        // a slice stored as X,Y,1 is 2D even though it has three axes: a 3D model cannot register it
        if (nd == dims && dims == 3 && shape[2] == 1) nd = 2;
        if (nd != dims)
        {
            t.Dispose();
            throw UnsupException.ForFile(path, $"is a {nd}D {what} of shape {Shape(shape)}; a {dims}D {what} is expected" +
                (shape.Length > dims ? " (a 4D series or vector image cannot be registered as one image)" : ""));
        }
        return dims == shape.Length ? t : t.reshape(shape[..dims]);
    }

    public static string Shape(long[] s) => string.Join("x", s);
}
