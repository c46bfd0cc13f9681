using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Nifti;

/// <summary>Reads single-file NIfTI-1 images (.nii, .nii.gz; either byte order).</summary>
public static class NiftiReader
{
    /// <summary>
    /// Reads the image. With <paramref name="applyScaling"/> (default) and a header whose scl_slope/scl_inter
    /// change the values, <see cref="NiftiImage.Data"/> is float32 with the scaling applied and the header's
    /// slope/intercept become 1/0 (so writing it back does not scale twice); otherwise Data holds the stored
    /// dtype (uint16/uint32 widened to int32/int64) and <see cref="NiftiImage.ToFloat"/> applies the scaling.
    /// </summary>
    public static NiftiImage Read(string path, bool applyScaling = true)
    {
        using var stream = Open(path);
        try
        {
            var h = ReadHeader(stream, path);
            var data = ReadVoxels(stream, h, path);
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
        catch (InvalidDataException e) { throw BadGzip(path, e); }
        catch (IOException e) { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
    }

    /// <summary>Only the header (decompresses just the first bytes of a .nii.gz).</summary>
    public static NiftiHeader ReadHeader(string path)
    {
        using var stream = Open(path);
        try { return ReadHeader(stream, path); }
        catch (InvalidDataException e) { throw BadGzip(path, e); }
        catch (IOException e) { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
    }

    static NiftiHeader ReadHeader(Stream s, string path)
    {
        var head = new byte[NiftiHeader.Size];
        int n = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return NiftiHeader.Parse(head.AsSpan(0, n), path);
    }

    static Tensor ReadVoxels(Stream s, NiftiHeader h, string path)
    {
        var dt = NiftiDatatype.Read(h.Datatype)
            ?? throw UnsupException.ForFile(path, $"unsupported NIfTI datatype {NiftiDatatype.Name(h.Datatype)} " +
                "(supported: uint8, int8, int16, uint16, int32, uint32, int64, float32, float64)");
        var shape = h.Shape;
        long count = 1;
        foreach (var d in shape) count *= d;
        long need = count * dt.Bytes;
        if (need > Array.MaxLength)
            throw UnsupException.ForFile(path, $"invalid NIfTI dimensions: [{string.Join(", ", shape)}] needs {need} bytes, over the 2 GiB supported");

        // vox_offset 0 in a single file means "right after the header" (nibabel raises it to 352 too).
        if (!float.IsFinite(h.VoxOffset) || h.VoxOffset < 0)
            throw UnsupException.ForFile(path, $"invalid vox_offset {h.VoxOffset}");
        long offset = Math.Max((long)h.VoxOffset, NiftiHeader.MinVoxOffset);
        if (offset > NiftiHeader.Size + (1 << 28))
            throw UnsupException.ForFile(path, $"invalid vox_offset {h.VoxOffset} (over 256 MiB of header extensions)");
        var extra = new byte[offset - NiftiHeader.Size];
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

    /// <summary>The file as a stream, gunzipped when its content is gzip (whatever the name says).</summary>
    static Stream Open(string path)
    {
        if (!File.Exists(path))
            throw UnsupException.ForFile(path, Directory.Exists(path) ? "is a folder, not a NIfTI file" : "file not found");
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }

        int b0 = fs.ReadByte(), b1 = fs.ReadByte();
        fs.Position = 0;
        if (b0 == 0x1f && b1 == 0x8b) return new BufferedStream(new GZipStream(fs, CompressionMode.Decompress), 1 << 16);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            fs.Dispose();
            throw UnsupException.ForFile(path, "not a gzip file (the name ends in .gz but the content is not gzip-compressed)");
        }
        return fs;
    }

    static UnsupException BadGzip(string path, Exception e) => UnsupException.ForFile(path, $"bad gzip stream ({e.Message})", e);

}
