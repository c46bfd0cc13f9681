using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Unsup.Tests.Core.IO.Fuzzing;

/// <summary>
/// The container layers the fuzzer re-applies after mutating a file's content, so the mutation reaches the parser
/// behind them instead of only tripping a CRC or checksum.
/// </summary>
public static class FuzzEncodings
{
    public static byte[] Gzip(byte[] b)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(b);
        return ms.ToArray();
    }

    /// <summary>A zip holding <paramref name="entry"/> = the bytes, then the unchanged companion entries.</summary>
    public static Func<byte[], byte[]> Zip(string entry, bool deflate, params (string Name, byte[] Bytes)[] others) => b =>
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in others.Prepend((entry, b)))
            {
                var e = zip.CreateEntry(name, deflate ? CompressionLevel.Fastest : CompressionLevel.NoCompression);
                using var s = e.Open();
                s.Write(bytes);
            }
        }
        return ms.ToArray();
    };

    /// <summary>The entries of a zip, in order.</summary>
    public static List<(string Name, byte[] Bytes)> Unzip(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return archive.Entries.Select(e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return (e.FullName, ms.ToArray());
        }).ToList();
    }

    /// <summary>Recomputes every PNG chunk's CRC (chunk lengths are trusted as far as the bytes go).</summary>
    public static byte[] FixPngCrcs(byte[] b)
    {
        var c = (byte[])b.Clone();
        int pos = 8;
        while (pos + 12 <= c.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(c.AsSpan(pos));
            if (len < 0 || pos + 12 + (long)len > c.Length) break;
            uint crc = Crc32(c.AsSpan(pos + 4, 4 + len));
            BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(pos + 8 + len), crc);
            pos += 12 + len;
        }
        return c;
    }

    /// <summary>PNG's CRC-32 (polynomial 0xEDB88320, as zlib); no package for one function.</summary>
    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in data)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>
    /// An Unsup checkpoint whose payload is <paramref name="payload"/> with a correct footer (length, SHA-256), so a
    /// mutated payload reaches the record parser (see Unsup.Training.Checkpoint's layout).
    /// </summary>
    public static byte[] SignCheckpoint(byte[] payload) =>
        [.. "UNSUPCK1"u8, .. BitConverter.GetBytes(1), .. payload, .. BitConverter.GetBytes((long)payload.Length),
         .. SHA256.HashData(payload), .. "UNSUPEND"u8];

    /// <summary>The payload of a valid checkpoint file (between the 12-byte head and the 48-byte tail).</summary>
    public static byte[] CheckpointPayload(byte[] file) => file[12..^48];
}
