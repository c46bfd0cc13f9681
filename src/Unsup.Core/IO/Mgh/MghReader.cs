using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Mgh;

/// <summary>
/// Reads FreeSurfer .mgh/.mgz volumes from an open (already gunzipped) stream. The public entry point is
/// <see cref="VolumeFile"/>, which dispatches here by content.
/// </summary>
public static class MghReader
{
    /// <summary>The header whose first 4 bytes (the version) were already read as <paramref name="first4"/>.</summary>
    internal static MghHeader ReadHeader(Stream s, ReadOnlySpan<byte> first4, string path)
    {
        var head = new byte[MghHeader.DataOffset];
        first4.CopyTo(head);
        int n = 4 + s.ReadAtLeast(head.AsSpan(4), head.Length - 4, throwOnEndOfStream: false);
        if (n < MghHeader.DataOffset)
            throw UnsupException.ForFile(path, $"truncated MGH header: {n} bytes, an MGH header needs {MghHeader.DataOffset}");
        return MghHeader.Parse(head, path);
    }

    /// <summary>The voxels after <paramref name="h"/> as [W, H, D] or [W, H, D, frames], then the optional footer.</summary>
    internal static Tensor ReadVoxels(Stream s, MghHeader h, string path)
    {
        var st = MghHeader.Storage(h.Type)
            ?? throw UnsupException.ForFile(path, $"unsupported MGH data type {MghHeader.TypeName(h.Type)} (supported: uchar, short, int, float)");
        var shape = h.Shape;
        long need = TensorBytes.ByteCount(shape, st.Bytes);
        if (need > Array.MaxLength)
            throw UnsupException.ForFile(path, $"invalid MGH dimensions: [{string.Join(", ", h.Dims)}] needs {need} bytes, over the 2 GiB supported");

        // x fastest on disk (Fortran order) = C order of the reversed shape; always big-endian.
        using var stored = TensorBytes.Read(s, st.Dtype, shape.Reverse().ToArray(), bigEndian: true, out long found)
            ?? throw UnsupException.ForFile(path, $"truncated: expected {need} bytes of MGH voxel data, found {found}");
        var footer = new byte[MghHeader.FooterSize];
        int n = s.ReadAtLeast(footer, footer.Length, throwOnEndOfStream: false);
        h.ParseFooter(footer.AsSpan(0, n));

        using var scope = torch.NewDisposeScope();
        var data = stored.permute(TensorBytes.ReversedAxes(shape.Length)).contiguous();
        if (data.Handle == stored.Handle) data = stored.clone();
        return data.MoveToOuterDisposeScope();
    }
}
