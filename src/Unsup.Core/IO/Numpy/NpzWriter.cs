using System.IO.Compression;
using static TorchSharp.torch;

namespace Unsup.IO.Numpy;

/// <summary>Writes several tensors as a NumPy .npz archive (like np.savez / np.savez_compressed).</summary>
public static class NpzWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> arrays, bool compress = true)
    {
        AtomicFile.Write(path, s =>
        {
            using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var (key, t) in arrays)
            {
                var entry = zip.CreateEntry(key + ".npy", compress ? CompressionLevel.Fastest : CompressionLevel.NoCompression);
                using var es = entry.Open();
                NpyWriter.Write(es, t);
            }
        });
    }
}
