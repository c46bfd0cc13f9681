namespace Unsup.IO.Inspect;

/// <summary>Picks the summary for a file by its content (not its name): NIfTI-1 (.nii/.nii.gz) or NumPy (.npy/.npz).</summary>
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
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return NiftiSummary.Describe(path); // gzip: only .nii.gz is supported
        if (n >= 4 && (BitConverter.ToInt32(head) == 348 || System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(head) == 348))
            return NiftiSummary.Describe(path);
        throw UnsupException.ForFile(path, "unrecognised file type (expected NIfTI-1 .nii/.nii.gz or NumPy .npy/.npz)");
    }
}
