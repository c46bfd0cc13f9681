using System.Buffers.Binary;
using System.IO.Compression;

namespace Unsup.IO;

/// <summary>
/// Checks the pickle of a torch.save zip before TorchSharp.PyBridge unpickles it: a string or bytes opcode whose length
/// runs past the end of the pickle is refused here, because the unpickler would first allocate that length (up to
/// 2 GB, from a damaged file of a few KB). Opcodes it does not know end the walk without a verdict.
/// </summary>
public static class TorchPickleCheck
{
    public static void ThrowIfLying(string path)
    {
        byte[] pkl;
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var entry = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal));
            if (entry == null || entry.Length > 1 << 26) return; // the unpickler reports it
            using var s = entry.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            pkl = ms.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException) { return; } // the unpickler reports these
        Walk(pkl, path);
    }

    static void Walk(byte[] p, string path)
    {
        int pos = 0;
        while (pos < p.Length)
        {
            byte op = p[pos++];
            long arg = op switch
            {
                (byte)'K' or (byte)'h' or (byte)'q' or 0x80 or 0x82 => 1,
                (byte)'M' or 0x83 => 2,
                (byte)'J' or (byte)'j' or (byte)'r' or 0x84 => 4,
                (byte)'G' or 0x95 => 8,
                (byte)'U' or (byte)'C' or 0x8c or 0x8a => pos < p.Length ? 1 + p[pos] : 1,
                (byte)'T' or (byte)'X' or (byte)'B' or 0x8b => pos + 4 <= p.Length ? 4 + (long)BinaryPrimitives.ReadUInt32LittleEndian(p.AsSpan(pos)) : 4,
                0x8d or 0x8e or 0x96 => pos + 8 <= p.Length ? 8 + (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(p.AsSpan(pos)), long.MaxValue - 8) : 8,
                (byte)'.' => -1,
                (byte)'(' or (byte)'0' or (byte)'1' or (byte)'2' or (byte)'N' or (byte)'Q' or (byte)'R' or (byte)'a' or (byte)'b'
                    or (byte)'d' or (byte)'}' or (byte)'e' or (byte)'l' or (byte)']' or (byte)'o' or (byte)'s' or (byte)'t'
                    or (byte)')' or (byte)'u' or 0x81 or 0x85 or 0x86 or 0x87 or 0x88 or 0x89 or 0x8f or 0x90 or 0x91
                    or 0x92 or 0x93 or 0x94 or 0x97 or 0x98 => 0,
                (byte)'c' or (byte)'i' => Lines(p, pos, 2),
                (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'P' or (byte)'g' or (byte)'p' => Lines(p, pos, 1),
                _ => -2,
            };
            if (arg < 0) return; // STOP, or an opcode this walk does not know
            if (arg > p.Length - pos)
                throw UnsupException.ForFile(path, $"corrupt PyTorch file: the pickle (data.pkl) claims {arg} bytes at offset {pos - 1}, but only {p.Length - pos} follow");
            pos += (int)arg;
        }
    }

    /// <summary>Bytes up to and including the <paramref name="n"/>-th newline (or past the end when missing).</summary>
    static long Lines(byte[] p, int pos, int n)
    {
        int i = pos;
        for (int k = 0; k < n; k++)
        {
            int nl = Array.IndexOf(p, (byte)'\n', i);
            if (nl < 0) return p.Length - pos + 1; // no newline: runs past the end
            i = nl + 1;
        }
        return i - pos;
    }
}
