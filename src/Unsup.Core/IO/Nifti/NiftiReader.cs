using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Nifti;

/// <summary>
/// Reads single-file NIfTI-1 and NIfTI-2 images (.nii, .nii.gz; either byte order). The public entry points
/// are <see cref="VolumeFile"/>'s; <see cref="Read"/> and <see cref="ReadHeader(string)"/> forward there, so
/// callers that name NiftiReader read every volume format (MGH/MGZ too).
/// </summary>
public static class NiftiReader
{
    /// <summary>Same as <see cref="VolumeFile.Read"/>: any volume file, dispatched by content.</summary>
    public static NiftiImage Read(string path, bool applyScaling = true) => VolumeFile.Read(path, applyScaling);

    /// <summary>Same as <see cref="VolumeFile.ReadHeader"/>.</summary>
    public static NiftiHeader ReadHeader(string path) => VolumeFile.ReadHeader(path);

    /// <summary>
    /// The header whose sizeof_hdr is <paramref name="first4"/> (already read from <paramref name="s"/>);
    /// reads the rest of the 348 or 540 bytes.
    /// </summary>
    internal static NiftiHeader ReadHeader(Stream s, ReadOnlySpan<byte> first4, string path)
    {
        int size = NiftiHeader.Sniff(first4)?.Size ?? NiftiHeader.Size;
        var head = new byte[size];
        first4.CopyTo(head);
        int n = 4 + s.ReadAtLeast(head.AsSpan(4), size - 4, throwOnEndOfStream: false);
        return NiftiHeader.Parse(head.AsSpan(0, n), path);
    }

    /// <summary>
    /// The voxels after header <paramref name="h"/>. With <paramref name="applyScaling"/> and a header whose
    /// scl_slope/scl_inter change the values, Data is float32 with the scaling applied and the header's
    /// slope/intercept become 1/0 (so writing it back does not scale twice); otherwise Data holds the stored
    /// dtype (uint16/uint32 widened to int32/int64) and <see cref="NiftiImage.ToFloat"/> applies the scaling.
    /// </summary>
    internal static NiftiImage ReadImage(Stream s, NiftiHeader h, string path, bool applyScaling)
    {
        var data = ReadVoxels(s, h, path);
        using var scope = torch.NewDisposeScope();
        data = data.MoveToOuterDisposeScope(); // into this scope, so intermediates below are freed
        if (applyScaling && h.HasScaling)
        {
            float inter = float.IsFinite(h.SclInter) ? h.SclInter : 0;
            data = data.to_type(ScalarType.Float32) * h.SclSlope + inter;
            h.SclSlope = 1;
            h.SclInter = 0;
            (h.Datatype, h.Bitpix) = (NiftiDatatype.Float32, 32);
        }
        return new NiftiImage(h, data.MoveToOuterDisposeScope());
    }

    static Tensor ReadVoxels(Stream s, NiftiHeader h, string path)
    {
        var dt = NiftiDatatype.Read(h.Datatype)
            ?? throw UnsupException.ForFile(path, $"unsupported NIfTI datatype {NiftiDatatype.Name(h.Datatype)} " +
                "(supported: uint8, int8, int16, uint16, int32, uint32, int64, float32, float64)");
        var shape = h.Shape;
        long need = TensorBytes.ByteCount(shape, dt.Bytes);
        if (need > Array.MaxLength)
            throw UnsupException.ForFile(path, $"invalid NIfTI dimensions: [{string.Join(", ", shape)}] needs {need} bytes, over the 2 GiB supported");

        // vox_offset 0 in a single file means "right after the header" (nibabel raises it to 352 too).
        if (!float.IsFinite(h.VoxOffset) || h.VoxOffset < 0)
            throw UnsupException.ForFile(path, $"invalid vox_offset {h.VoxOffset}");
        int headerSize = h.Version == 2 ? Nifti2Layout.Size : NiftiHeader.Size;
        long offset = Math.Max((long)h.VoxOffset, headerSize + 4);
        if (offset > headerSize + (1 << 28))
            throw UnsupException.ForFile(path, $"invalid vox_offset {h.VoxOffset} (over 256 MiB of header extensions)");
        var extra = new byte[offset - headerSize];
        if (s.ReadAtLeast(extra, extra.Length, throwOnEndOfStream: false) < extra.Length)
            throw UnsupException.ForFile(path, $"truncated: expected {need} bytes of voxel data at offset {offset}, found 0");
        if (extra.Length > 4 && extra[0] != 0)
            h.Extensions = NiftiHeader.ParseExtensions(extra.AsSpan(4), h.BigEndian);

        // The file stores x fastest = C order of the reversed shape; permute back to [X, Y, Z, ...].
        var rev = shape.Reverse().ToArray();
        using var stored = TensorBytes.Read(s, dt.Storage, rev, h.BigEndian, out long found)
            ?? throw UnsupException.ForFile(path, $"truncated: expected {need} bytes of voxel data, found {found}");
        using var scope = torch.NewDisposeScope();
        var data = stored.permute(TensorBytes.ReversedAxes(shape.Length)).contiguous();
        if (ReferenceEquals(data, stored) || data.Handle == stored.Handle) data = stored.clone();
        if (h.Datatype == NiftiDatatype.UInt16) data = data.to_type(ScalarType.Int32).bitwise_and(0xFFFF);
        else if (h.Datatype == NiftiDatatype.UInt32) data = data.to_type(ScalarType.Int64).bitwise_and(0xFFFFFFFFL);
        return data.MoveToOuterDisposeScope();
    }
}
