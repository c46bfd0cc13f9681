using Unsup.IO.Nifti;

namespace Unsup.Registration.Geometry;

/// <summary>
/// Where a volume's voxels are in the world: its spatial shape and voxel-to-world affine (RAS+ mm, sform else qform,
/// as nibabel's <c>img.affine</c>). Voxel index (i, j, k) is along the first, second, third array axis.
/// </summary>
public sealed record VolumeGeometry(long[] Shape, double[,] Affine)
{
    /// <summary>Whether the header holds an orientation (sform or qform code &gt; 0): without one the world position is a guess.</summary>
    public static bool HasOrientation(NiftiHeader h) => h.SformCode > 0 || h.QformCode > 0;

    /// <summary>The geometry of an image's first three axes; <paramref name="requireOrientation"/> refuses headers without sform and qform.</summary>
    public static VolumeGeometry Of(NiftiImage image, string path, bool requireOrientation = true)
    {
        if (requireOrientation && !HasOrientation(image.Header))
            throw UnsupException.ForFile(path, "has no usable orientation (qform_code and sform_code are both 0), so its position in the world is unknown; " +
                "set the orientation in its header (e.g. from the scanner's DICOM with dcm2niix, or copy it from the image it was derived from) or resample it onto the other image's grid yourself");
        var shape = image.Shape.Take(3).ToArray();
        return new VolumeGeometry(shape, image.Affine);
    }

    /// <summary>Same shape and the same voxel-to-world mapping within <paramref name="tolerance"/> (mm, or per matrix entry).</summary>
    public bool SameGrid(VolumeGeometry other, double tolerance = 1e-3) =>
        Shape.SequenceEqual(other.Shape) && Matrix4.MaxAbsDifference(Affine, other.Affine) <= tolerance;

    /// <summary>Voxel sizes (column lengths of the affine), mm.</summary>
    public double[] Spacing => [.. Enumerable.Range(0, 3).Select(j => Math.Sqrt(Affine[0, j] * Affine[0, j] + Affine[1, j] * Affine[1, j] + Affine[2, j] * Affine[2, j]))];

    /// <summary>World coordinates of the volume's centre (the middle of its voxel index range).</summary>
    public double[] Centre => Matrix4.Apply(Affine, [.. Shape.Select(n => (n - 1) / 2.0)]);

    /// <summary>
    /// The orientation of the SYMNet training data (the OASIS images of the official weights are LIA: first axis
    /// towards the left, second inferior, third anterior) at <paramref name="spacing"/> mm, with the grid's centre
    /// at <paramref name="centre"/> (world mm).
    /// </summary>
    public static VolumeGeometry Lia(long[] shape, double spacing, double[] centre)
    {
        var a = Matrix4.Identity();
        a[0, 0] = -spacing; a[1, 0] = 0; a[2, 0] = 0;
        a[0, 1] = 0; a[1, 1] = 0; a[2, 1] = -spacing;
        a[0, 2] = 0; a[1, 2] = spacing; a[2, 2] = 0;
        var mid = Matrix4.Apply(a, [.. shape.Select(n => (n - 1) / 2.0)]);
        for (int i = 0; i < 3; i++) a[i, 3] = centre[i] - mid[i];
        return new VolumeGeometry(shape, a);
    }

    /// <summary>A coarser grid over the same field of view: each new voxel is a block of <paramref name="factors"/> voxels (its centre at the block's centre).</summary>
    public VolumeGeometry Pooled(long[] factors)
    {
        var s = Matrix4.Identity();
        for (int i = 0; i < 3; i++) { s[i, i] = factors[i]; s[i, 3] = (factors[i] - 1) / 2.0; }
        return new VolumeGeometry([.. Shape.Select((n, i) => n / factors[i])], Matrix4.Multiply(Affine, s));
    }
}
