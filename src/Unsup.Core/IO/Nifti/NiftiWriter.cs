using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Nifti;

/// <summary>Writes single-file NIfTI-1 (.nii, or gzip-compressed when the name ends in .gz), atomically.</summary>
public static class NiftiWriter
{
    /// <summary>
    /// Writes <paramref name="image"/>: the header and its extensions are kept except dim/datatype/bitpix
    /// (taken from the data), vox_offset (352 + extensions) and magic. Bool data is written as uint8.
    /// </summary>
    public static void Write(string path, NiftiImage image) => Write(path, image.Data, image.Header);

    /// <summary>Writes <paramref name="data"/> ([X, Y, Z, ...]) with a copy of <paramref name="header"/>'s fields.</summary>
    public static void Write(string path, Tensor data, NiftiHeader header)
    {
        var h = header.Clone();
        NiftiImage.SetDims(h, data);
        h.SizeofHdr = NiftiHeader.Size;
        var extensions = h.SerializeExtensions();
        h.VoxOffset = NiftiHeader.MinVoxOffset + extensions.Length;
        h.Magic = "n+1";
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
        var head = h.Serialize();
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
