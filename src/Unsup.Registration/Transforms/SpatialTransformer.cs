using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Registration.Transforms;

/// <summary>How a warp interpolates: linear for intensities and fields, nearest for label maps.</summary>
public enum Interpolation { Linear, Nearest }

/// <summary>
/// Warps an image by a dense displacement: out(p) = image(p + u(p)), u in voxels,
/// [N, nd, *spatial] with channel 0 along the last array axis (the official SYMNet convention).
/// Sampling is bilinear/trilinear (or nearest) with align_corners = true and zeros outside.
/// </summary>
/// <remarks>
/// A static class rather than a parameterless module: it holds no weights, and the identity grid it needs
/// is cached per shape (<see cref="IdentityGrid"/>), so there is nothing for an instance to own.
/// </remarks>
public static class SpatialTransformer
{
    /// <summary>
    /// Whether 3D float32 warps on the CPU use <see cref="WarpKernel"/> (default; with autograd, through
    /// <see cref="WarpFunction"/>) instead of libtorch's grid_sample. Off only to measure or cross-check the two paths.
    /// </summary>
    public static bool UseCpuKernel { get; set; } = true;

    /// <summary>image [N, C, *spatial] (any numeric dtype for Nearest) sampled at id + displacement.</summary>
    public static Tensor Warp(Tensor image, Tensor displacement, Interpolation mode = Interpolation.Linear) =>
        WarpAndAdd(image, displacement, null, mode);

    /// <summary>
    /// addend + image∘(id + displacement) in one pass where the CPU kernel applies (scaling and squaring and
    /// composition need exactly this); addend has the image's shape, or is null.
    /// </summary>
    public static Tensor WarpAndAdd(Tensor image, Tensor displacement, Tensor? addend, Interpolation mode = Interpolation.Linear)
    {
        using var scope = NewDisposeScope();
        CheckShapes(image, displacement);
        var src = image.is_floating_point() ? image : image.to(ScalarType.Float32);
        if (KernelApplies(src, displacement, addend))
        {
            var fast = WarpKernel.Warp(src, displacement, addend, mode == Interpolation.Nearest);
            if (!image.is_floating_point()) fast = fast.round().to(image.dtype);
            return fast.MoveToOuterDisposeScope();
        }
        if (mode == Interpolation.Linear && GradientKernelApplies(src, displacement, addend))
            return WarpFunction.Apply(src, displacement, addend).MoveToOuterDisposeScope();
        var grid = ToSamplingGrid(displacement.to(src.dtype));
        // one field applied to a whole batch (e.g. several label maps of one subject)
        if (grid.shape[0] != src.shape[0]) grid = grid.expand([src.shape[0], .. grid.shape[1..]]);
        var gsMode = mode == Interpolation.Nearest ? GridSampleMode.Nearest : GridSampleMode.Bilinear;
        var output = nn.functional.grid_sample(src, grid, gsMode, GridSamplePaddingMode.Zeros, align_corners: true);
        // label maps keep their integer type (nearest never mixes values, so the cast is exact)
        if (!image.is_floating_point()) output = output.round().to(image.dtype);
        if (addend is not null) output = addend + output;
        return output.MoveToOuterDisposeScope();
    }

    internal static bool KernelApplies(Tensor src, Tensor displacement, Tensor? addend) =>
        CpuShapesAndTypes(src, displacement, addend) && !NeedsGradient(src, displacement, addend);

    /// <summary>The same warps when autograd needs them: <see cref="WarpFunction"/> (the kernel and its hand-written backward).</summary>
    internal static bool GradientKernelApplies(Tensor src, Tensor displacement, Tensor? addend) =>
        CpuShapesAndTypes(src, displacement, addend) && NeedsGradient(src, displacement, addend);

    static bool CpuShapesAndTypes(Tensor src, Tensor displacement, Tensor? addend) =>
        UseCpuKernel && src.dim() == 5
        && src.dtype == ScalarType.Float32 && displacement.dtype == ScalarType.Float32
        && (addend is null || (addend.dtype == ScalarType.Float32 && addend.shape.SequenceEqual(src.shape)))
        && src.device_type == DeviceType.CPU && displacement.device_type == DeviceType.CPU;

    static bool NeedsGradient(Tensor src, Tensor displacement, Tensor? addend) =>
        is_grad_enabled() && (src.requires_grad || displacement.requires_grad || (addend?.requires_grad ?? false));

    /// <summary>Normalised grid [N, *spatial, nd] for grid_sample: identity + displacement in unit coordinates.</summary>
    public static Tensor ToSamplingGrid(Tensor displacement)
    {
        using var scope = NewDisposeScope();
        int nd = (int)displacement.shape[1];
        var spatial = displacement.shape.AsSpan(2);
        var id = IdentityGrid.Normalized(spatial, displacement.device, displacement.dtype);
        var scale = IdentityGrid.VoxelToUnitScale(spatial, displacement.device, displacement.dtype);
        var grid = torch.addcmul(id, displacement.permute(DisplacementLayout.ChannelsLastOrder(nd)), scale, 1);
        return grid.MoveToOuterDisposeScope();
    }

    internal static void CheckShapes(Tensor image, Tensor displacement)
    {
        int nd = (int)displacement.dim() - 2;
        if (nd is not (2 or 3) || displacement.shape[1] != nd)
            throw new ArgumentException($"displacement must be [N, {(nd is 2 or 3 ? nd : 3)}, *spatial] with one channel per spatial axis, got [{string.Join(", ", displacement.shape)}]");
        if (image.dim() != displacement.dim() || !image.shape.AsSpan(2).SequenceEqual(displacement.shape.AsSpan(2)))
            throw new ArgumentException($"image [{string.Join(", ", image.shape)}] and displacement [{string.Join(", ", displacement.shape)}] differ in spatial shape");
        if (image.shape[0] != displacement.shape[0] && displacement.shape[0] != 1)
            throw new ArgumentException($"batch sizes differ: image {image.shape[0]}, displacement {displacement.shape[0]}");
    }
}
