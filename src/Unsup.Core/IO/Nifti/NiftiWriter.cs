using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Nifti;

/// <summary>
/// Writes single-file NIfTI-1 or NIfTI-2 (.nii, or gzip-compressed when the name ends in .gz), atomically.
/// The public entry points are <see cref="VolumeFile"/>'s; <see cref="Write(string, NiftiImage)"/> forwards
/// there, so the output name picks the format (.mgz/.mgh are written as MGH).
/// </summary>
public static class NiftiWriter
{
    /// <summary>Same as <see cref="VolumeFile.Write(string, NiftiImage, VolumeFormat)"/> with the format from the name.</summary>
    public static void Write(string path, NiftiImage image) => VolumeFile.Write(path, image.Data, image.Header);

    /// <summary>Same as <see cref="VolumeFile.Write(string, Tensor, NiftiHeader, VolumeFormat)"/> with the format from the name.</summary>
    public static void Write(string path, Tensor data, NiftiHeader header) => VolumeFile.Write(path, data, header);

    /// <summary>
    /// Writes <paramref name="data"/> ([X, Y, Z, ...]) as NIfTI-<paramref name="version"/> with a copy of
    /// <paramref name="header"/>'s fields: kept except dim/datatype/bitpix (taken from the data), vox_offset
    /// (header + 4 + extensions) and magic. Bool data is written as uint8.
    /// </summary>
    internal static void Write(string path, Tensor data, NiftiHeader header, int version)
    {
        var h = header.Clone();
        NiftiImage.SetDims(h, data);
        var extensions = h.SerializeExtensions();
        if (version == 2)
        {
            h.SizeofHdr = Nifti2Layout.Size;
            h.VoxOffset = Nifti2Layout.MinVoxOffset + extensions.Length;
            h.Magic = "n+2";
        }
        else
        {
            h.SizeofHdr = NiftiHeader.Size;
            h.VoxOffset = NiftiHeader.MinVoxOffset + extensions.Length;
            h.Magic = "n+1";
        }
        h.BigEndian = false;

        using var scope = torch.NewDisposeScope();
        var d = data.dtype == ScalarType.Bool ? data.to_type(ScalarType.Byte) : data;
        // An image read from uint16/uint32 holds widened int32/int64 values: store them unsigned again if they fit.
        if (header.Datatype == NiftiDatatype.UInt16 && d.dtype == ScalarType.Int32 && Fits(d, 0, ushort.MaxValue))
        {
            d = torch.where(d > short.MaxValue, d - 65536, d).to_type(ScalarType.Int16);
            (h.Datatype, h.Bitpix) = (NiftiDatatype.UInt16, 16);
        }
        else if (header.Datatype == NiftiDatatype.UInt32 && d.dtype == ScalarType.Int64 && Fits(d, 0, uint.MaxValue))
        {
            d = torch.where(d > int.MaxValue, d - 4294967296L, d).to_type(ScalarType.Int32);
            (h.Datatype, h.Bitpix) = (NiftiDatatype.UInt32, 32);
        }
        // x fastest on disk = C order of the axis-reversed tensor.
        var stored = d.permute(TensorBytes.ReversedAxes((int)d.dim())).contiguous();
        var head = version == 2 ? Nifti2Layout.Serialize(h) : h.Serialize();
        bool gz = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        AtomicFile.Write(path, s =>
        {
            Stream o = gz ? new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true) : s;
            try
            {
                o.Write(head);
                o.Write([(byte)(extensions.Length > 0 ? 1 : 0), 0, 0, 0]); // extender: extensions follow?
                o.Write(extensions);
                TensorBytes.WriteTo(o, stored);
            }
            finally { if (gz) o.Dispose(); }
        });
    }

    static bool Fits(Tensor t, long min, long max)
        => t.numel() == 0 || (t.min().to_type(ScalarType.Int64).item<long>() >= min && t.max().to_type(ScalarType.Int64).item<long>() <= max);
}
