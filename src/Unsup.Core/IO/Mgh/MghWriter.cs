using System.IO.Compression;
using TorchSharp;
using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.IO.Mgh;

/// <summary>
/// Writes FreeSurfer .mgh (or gzip-compressed .mgz) volumes atomically. The public entry point is
/// <see cref="VolumeFile"/>, which comes here for .mgh/.mgz names.
/// </summary>
public static class MghWriter
{
    /// <summary>
    /// Writes <paramref name="data"/> ([X, Y, Z] or [X, Y, Z, frames]; 1D/2D padded with 1s as nibabel does)
    /// with <paramref name="header"/>'s affine. MGH stores uchar, short, int and float only: bool becomes
    /// uint8, int8 int16, int64 int32 (when the values fit), float64 float32; scl_slope/inter are applied first.
    /// </summary>
    internal static void Write(string path, Tensor data, NiftiHeader header, bool gzip)
    {
        if (data.dim() > 4)
            throw UnsupException.ForFile(path, $"an MGH volume has at most 4 dimensions, the image is [{string.Join(",", data.shape)}]");
        if (data.shape.Any(d => d < 1 || d > int.MaxValue))
            throw UnsupException.ForFile(path, $"MGH dimensions must be 1..{int.MaxValue}, the image is [{string.Join(",", data.shape)}]");

        using var scope = torch.NewDisposeScope();
        var d = data;
        if (header.HasScaling)
            d = d.to_type(ScalarType.Float32) * header.SclSlope + (float.IsFinite(header.SclInter) ? header.SclInter : 0);
        while (d.dim() < 3) d = d.unsqueeze(-1);
        int type;
        switch (d.dtype)
        {
            case ScalarType.Bool: d = d.to_type(ScalarType.Byte); type = MghHeader.Uchar; break;
            case ScalarType.Byte: type = MghHeader.Uchar; break;
            case ScalarType.Int8: d = d.to_type(ScalarType.Int16); type = MghHeader.Short; break;
            case ScalarType.Int16: type = MghHeader.Short; break;
            case ScalarType.Int32: type = MghHeader.Int; break;
            case ScalarType.Int64:
                if (d.numel() > 0 && (d.min().item<long>() < int.MinValue || d.max().item<long>() > int.MaxValue))
                    throw UnsupException.ForFile(path, "int64 values outside the int32 range cannot be stored in MGH (types: uchar, short, int, float)");
                d = d.to_type(ScalarType.Int32); type = MghHeader.Int; break;
            case ScalarType.Float32: type = MghHeader.Float; break;
            case ScalarType.Float64: d = d.to_type(ScalarType.Float32); type = MghHeader.Float; break;
            default: throw UnsupException.ForFile(path, $"cannot write a {d.dtype} tensor as MGH (supported: uint8, int8, int16, int32, int64, float32, float64, bool)");
        }

        var h = new MghHeader { Type = type };
        for (int i = 0; i < 4; i++) h.Dims[i] = i < d.dim() ? (int)d.shape[i] : 1;
        h.SetAffine(NiftiAffine.Best(header));
        if (d.dim() == 4 && header.Pixdim[4] > 0) h.Tr = header.Pixdim[4];

        // x fastest on disk: C order of the axis-reversed tensor (big-endian, swapped by WriteTo).
        var stored = d.permute(TensorBytes.ReversedAxes((int)d.dim())).contiguous();
        var head = h.Serialize();
        var foot = h.SerializeFooter();
        AtomicFile.Write(path, s =>
        {
            Stream o = gzip ? new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true) : s;
            try
            {
                o.Write(head);
                TensorBytes.WriteTo(o, stored, bigEndian: true);
                o.Write(foot);
            }
            finally { if (gzip) o.Dispose(); }
        });
    }
}
