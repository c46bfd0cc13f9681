using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using Unsup.IO.Mgh;
using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.IO;

/// <summary>Which file format <see cref="VolumeFile.Write(string, NiftiImage, VolumeFormat)"/> writes.</summary>
public enum VolumeFormat
{
    /// <summary>From the name: .mgz/.mgh → MGH; otherwise NIfTI-1, or NIfTI-2 when a dimension exceeds 32767.</summary>
    Auto,
    Nifti1,
    Nifti2,
    Mgh,
}

/// <summary>
/// The one place volumes (brain images, label maps, displacement fields) are read and written. Reading
/// goes by content, not name: gzip (then the decompressed bytes), NIfTI-1 (sizeof_hdr 348) or NIfTI-2 (540)
/// in either byte order, FreeSurfer MGH (big-endian version 1). Every format is returned as a
/// <see cref="NiftiImage"/> with the geometry in its sform/qform, so affines survive a round trip through
/// any pair of formats. A gzip file is read to its end, so its CRC-32 and length are checked.
/// </summary>
public static class VolumeFile
{
    /// <summary>
    /// Reads the volume. NIfTI scl_slope/scl_inter are applied when <paramref name="applyScaling"/> (see
    /// <see cref="NiftiReader"/>); MGH has no scaling.
    /// </summary>
    public static NiftiImage Read(string path, bool applyScaling = true)
    {
        var (stream, gzip) = Open(path);
        using (stream)
        {
            try
            {
                var first4 = ReadFirst4(stream);
                NiftiImage image;
                if (IsMgh(first4))
                {
                    var mh = MghReader.ReadHeader(stream, first4, path);
                    var data = MghReader.ReadVoxels(stream, mh, path);
                    image = new NiftiImage(mh.ToNifti(), data);
                }
                else
                {
                    var h = NiftiReader.ReadHeader(stream, Known(first4, path), path);
                    image = NiftiReader.ReadImage(stream, h, path, applyScaling);
                }
                if (gzip) DrainChecked(stream, image);
                return image;
            }
            catch (InvalidDataException e) { throw Corrupt(path, e); }
            catch (IOException e) { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
        }
    }

    /// <summary>Only the header (decompresses just the first bytes of a gzip file; the CRC is not checked).</summary>
    public static NiftiHeader ReadHeader(string path)
    {
        var (stream, _) = Open(path);
        using (stream)
        {
            try
            {
                var first4 = ReadFirst4(stream);
                return IsMgh(first4) ? MghReader.ReadHeader(stream, first4, path).ToNifti()
                    : NiftiReader.ReadHeader(stream, Known(first4, path), path);
            }
            catch (InvalidDataException e) { throw Corrupt(path, e); }
            catch (IOException e) { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
        }
    }

    /// <summary>The MGH header of an .mgh/.mgz file, with its footer (TR, flip angle, TE, TI), for <c>unsup inspect</c>.</summary>
    public static MghHeader ReadMghHeader(string path)
    {
        var (stream, _) = Open(path);
        using (stream)
        {
            try
            {
                var first4 = ReadFirst4(stream);
                if (!IsMgh(first4)) throw UnsupException.ForFile(path, "not an MGH file");
                var h = MghReader.ReadHeader(stream, first4, path);
                using var _ = MghReader.ReadVoxels(stream, h, path); // the footer follows the voxels
                return h;
            }
            catch (InvalidDataException e) { throw Corrupt(path, e); }
            catch (IOException e) { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
        }
    }

    /// <summary>What kind of volume file <paramref name="path"/> holds by content: "NIfTI-1", "NIfTI-2", "MGH", or null.</summary>
    public static string? Kind(string path)
    {
        var (stream, _) = Open(path);
        using (stream)
        {
            try
            {
                var first4 = ReadFirst4(stream);
                if (IsMgh(first4)) return "MGH";
                return NiftiHeader.Sniff(first4) is { } k ? (k.Size == Nifti2Layout.Size ? "NIfTI-2" : "NIfTI-1") : null;
            }
            catch (InvalidDataException) { return null; }
        }
    }

    /// <summary>True when the name is one <see cref="Write(string, NiftiImage, VolumeFormat)"/> and folder listings treat as a volume.</summary>
    public static bool HasVolumeName(string path) =>
        path.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)
        || IsMghName(path);

    public static void Write(string path, NiftiImage image, VolumeFormat format = VolumeFormat.Auto) =>
        Write(path, image.Data, image.Header, format);

    /// <summary>
    /// Writes <paramref name="data"/> ([X, Y, Z, ...]) with <paramref name="header"/>'s geometry, atomically.
    /// Compressed when the name ends in .gz or .mgz.
    /// </summary>
    public static void Write(string path, Tensor data, NiftiHeader header, VolumeFormat format = VolumeFormat.Auto)
    {
        if (format == VolumeFormat.Auto)
            format = IsMghName(path) ? VolumeFormat.Mgh
                : data.shape.Any(d => d > short.MaxValue) ? VolumeFormat.Nifti2 : VolumeFormat.Nifti1;
        bool gzip = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".mgz", StringComparison.OrdinalIgnoreCase);
        if (format == VolumeFormat.Mgh) MghWriter.Write(path, data, header, gzip);
        else NiftiWriter.Write(path, data, header, format == VolumeFormat.Nifti2 ? 2 : 1);
    }

    static bool IsMghName(string path) =>
        path.EndsWith(".mgz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".mgh", StringComparison.OrdinalIgnoreCase);

    static bool IsMgh(ReadOnlySpan<byte> first4) => first4.Length == 4 && BinaryPrimitives.ReadInt32BigEndian(first4) == 1;

    static byte[] ReadFirst4(Stream s)
    {
        var b = new byte[4];
        int n = s.ReadAtLeast(b, 4, throwOnEndOfStream: false);
        return b[..n];
    }

    /// <summary>The first 4 bytes when they announce a NIfTI header; otherwise the error says what the file is not.</summary>
    static byte[] Known(byte[] first4, string path)
    {
        if (first4.Length < 4)
            throw UnsupException.ForFile(path, $"truncated NIfTI header: {first4.Length} bytes, a NIfTI-1 header needs {NiftiHeader.Size}");
        if (NiftiHeader.Sniff(first4) is null)
            throw UnsupException.ForFile(path, $"not a NIfTI-1, NIfTI-2 or MGH volume (the first 4 bytes are {Convert.ToHexString(first4)}; " +
                "expected sizeof_hdr 348 or 540, or MGH version 1)");
        return first4;
    }

    /// <summary>
    /// Reads the rest of a gzip stream so the decompressor reaches the trailer and checks its CRC-32 and
    /// length (it throws InvalidDataException when they disagree). Costs only the bytes after the voxels.
    /// </summary>
    static void DrainChecked(Stream s, NiftiImage image)
    {
        try
        {
            var buf = new byte[1 << 16];
            while (s.Read(buf) > 0) { }
        }
        catch { image.Dispose(); throw; }
    }

    /// <summary>The file as a stream, gunzipped when its content is gzip (whatever the name says).</summary>
    static (Stream Stream, bool Gzip) Open(string path)
    {
        if (!File.Exists(path))
            throw UnsupException.ForFile(path, Directory.Exists(path) ? "is a folder, not a volume file" : "file not found");
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }

        int b0 = fs.ReadByte(), b1 = fs.ReadByte();
        fs.Position = 0;
        if (b0 == 0x1f && b1 == 0x8b) return (new BufferedStream(new GZipStream(fs, CompressionMode.Decompress), 1 << 16), true);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".mgz", StringComparison.OrdinalIgnoreCase))
        {
            fs.Dispose();
            throw UnsupException.ForFile(path, "not a gzip file (the name ends in .gz/.mgz but the content is not gzip-compressed)");
        }
        return (fs, false);
    }

    static UnsupException Corrupt(string path, Exception e) =>
        UnsupException.ForFile(path, $"corrupt: bad gzip stream ({e.Message})", e);
}
