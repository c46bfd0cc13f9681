namespace Unsup.IO.Inspect;

/// <summary>Picks the summary for a file by its content (not its name): NIfTI-1/2 (.nii/.nii.gz), FreeSurfer MGH
/// (.mgh/.mgz), NumPy (.npy/.npz), IDX (plain or gzip) or an image.</summary>
public static class FileInspector
{
    public static FileSummary Describe(string path)
    {
        if (!File.Exists(path))
            throw UnsupException.ForFile(path, Directory.Exists(path) ? "is a folder, not a file" : "file not found");
        Span<byte> head = stackalloc byte[348];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];

        if (n >= 6 && head[0] == 0x93 && head[1..6].SequenceEqual("NUMPY"u8)) return NumpySummary.Describe(path);
        if (n >= 4 && head[0] == 'P' && head[1] == 'K') return NumpySummary.Describe(path);
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
            return IsIdx(GunzipHead(path)) ? IdxSummary.Describe(path) : Volume(path);
        if (IsIdx(head)) return IdxSummary.Describe(path);
        if (IsImage(head)) return ImageSummary.Describe(path);
        if (VolumeFile.Kind(path) != null) return Volume(path);
        throw UnsupException.ForFile(path, "unrecognised file type (expected NIfTI-1/2 .nii/.nii.gz, MGH .mgh/.mgz, NumPy .npy/.npz, IDX or an image)");
    }

    /// <summary>A gzip file that is not IDX is read as a volume, whose reader reports a corrupt stream by name.</summary>
    static FileSummary Volume(string path) => VolumeFile.Kind(path) == "MGH" ? MghSummary.Describe(path) : NiftiSummary.Describe(path);

    // IDX magic: two zero bytes, a type code 0x08..0x0E, then 1..4 dimensions.
    static bool IsIdx(ReadOnlySpan<byte> h) => h.Length >= 4 && h[0] == 0 && h[1] == 0 && h[2] is 0x08 or 0x09 or 0x0B or 0x0C or 0x0D or 0x0E && h[3] is >= 1 and <= 4;

    static bool IsImage(ReadOnlySpan<byte> h) =>
        h.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
        || h.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
        || h.StartsWith("BM"u8)
        || (h.Length >= 12 && h.StartsWith("RIFF"u8) && h[8..12].SequenceEqual("WEBP"u8));

    static byte[] GunzipHead(string path)
    {
        try
        {
            using var gz = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
            var b = new byte[4];
            int n = gz.ReadAtLeast(b, 4, throwOnEndOfStream: false);
            return b[..n];
        }
        catch (InvalidDataException) { return []; } // the NIfTI reader reports the corrupt gzip by name
    }
}
