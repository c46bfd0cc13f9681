namespace Unsup.Registration.Geometry;

/// <summary>
/// The grid a SYMNet sees: shape, spacing and the orientation of its training data (LIA for the official
/// neurite-OASIS weights: 160x192x224 at 1 mm), centred on a world point (the brain's centre of mass).
/// </summary>
public sealed record NetworkSpace(long[] Shape, double SpacingMm)
{
    /// <summary>The official weights' space.</summary>
    public static readonly NetworkSpace Oasis = new([160, 192, 224], 1.0);

    /// <summary>
    /// The official field of view (160x192x224 mm) at another spacing, each size rounded up to a multiple of 16: for
    /// networks trained on downsampled images (`symnet train --downsample`), or a quick look at 2 mm.
    /// </summary>
    public static NetworkSpace AtSpacing(double mm) => mm == 1.0 ? Oasis
        : new([.. Oasis.Shape.Select(n => (long)Math.Ceiling(n / mm / 16.0) * 16)], mm);

    public VolumeGeometry CentredAt(double[] worldCentre) => VolumeGeometry.Lia(Shape, SpacingMm, worldCentre);
}
