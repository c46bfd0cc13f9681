using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>Shared helpers for datasets stored as fixed-size binary records (CIFAR, STL-10).</summary>
internal static class BinaryRecords
{
    /// <summary>Number of records in a file, checking the size is an exact multiple of the record size.</summary>
    public static long Count(string path, long recordSize, string what)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "file not found");
        long len = new FileInfo(path).Length;
        if (len == 0) throw UnsupException.ForFile(path, "empty file");
        if (len % recordSize != 0)
            throw UnsupException.ForFile(path, $"size {len} bytes is not a multiple of the {recordSize}-byte {what} record (truncated or not this format): {len / recordSize} whole records and {len % recordSize} bytes left over");
        return len / recordSize;
    }

    /// <summary>
    /// Streams the records of <paramref name="path"/> in chunks of at most <paramref name="chunkRecords"/>,
    /// each as a uint8 tensor [k, recordSize], so files larger than one .NET array (STL-10 unlabeled, 2.8 GB) work.
    /// </summary>
    public static void ForEachChunk(string path, long recordSize, long chunkRecords, Action<long, Tensor> onChunk)
    {
        long n = new FileInfo(path).Length / recordSize;
        var buffer = new byte[checked(Math.Min(n, chunkRecords) * recordSize)];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        for (long start = 0; start < n; start += chunkRecords)
        {
            long k = Math.Min(chunkRecords, n - start);
            int bytes = checked((int)(k * recordSize));
            int got = fs.ReadAtLeast(buffer.AsSpan(0, bytes), bytes, throwOnEndOfStream: false);
            if (got < bytes) throw UnsupException.ForFile(path, $"truncated: expected {bytes} bytes at offset {start * recordSize}, found {got}");
            using var scope = torch.NewDisposeScope();
            var chunk = torch.tensor(bytes == buffer.Length ? buffer : buffer[..bytes], [k, recordSize]);
            onChunk(start, chunk);
        }
    }

    /// <summary>Class names from a text file, one per line (blank lines dropped); null when the file is absent.</summary>
    public static string[]? ReadNames(string path, int expected)
    {
        if (!File.Exists(path)) return null;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length != expected)
            throw UnsupException.ForFile(path, $"{names.Length} class names, expected {expected}");
        return names;
    }

    /// <summary>DIR itself when it holds <paramref name="marker"/>, else DIR/<paramref name="sub"/> (the folder the archive unpacks to).</summary>
    public static string Locate(string dir, string sub, string marker, string kind)
    {
        if (!Directory.Exists(dir)) throw UnsupException.ForFile(dir, "folder not found");
        if (File.Exists(Path.Combine(dir, marker))) return dir;
        var inner = Path.Combine(dir, sub);
        if (File.Exists(Path.Combine(inner, marker))) return inner;
        throw UnsupException.ForFile(dir, $"no {marker} here or in {sub}/: not a {kind} binary folder");
    }
}
