using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.Data;

/// <summary>
/// Reads IDX files (the MNIST / Fashion-MNIST format), plain or gzip (recognised by the 1f 8b magic, not the
/// file name). Layout: 2 zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
/// 0x0E float64), the number of dimensions, each dimension as big-endian int32, then the data big-endian.
/// </summary>
public static class IdxReader
{
    /// <summary>Reads the whole file into a tensor of the declared type and shape.</summary>
    public static Tensor Read(string path)
    {
        using var stream = Open(path);
        try
        {
            var (type, elem, dims) = ReadHeader(stream, path);
            long nbytes = Unsup.IO.TensorBytes.ByteCount(dims, elem);
            if (nbytes > Array.MaxLength)
                throw UnsupException.ForFile(path, $"the header's dimensions [{string.Join(", ", dims)}] need more data than this reader can hold in one array");
            if (nbytes > Unsup.IO.TensorBytes.MaxReadable(stream))
            {
                // more than the file can hold: count what is there instead of allocating what the header claims
                long found = 0;
                var chunk = new byte[1 << 16];
                for (int r; (r = stream.Read(chunk)) > 0;) found += r;
                throw UnsupException.ForFile(path, $"truncated: expected {nbytes} bytes of data, found {found}");
            }
            var data = new byte[nbytes];
            int got = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (got < nbytes) throw UnsupException.ForFile(path, $"truncated: expected {nbytes} bytes of data, found {got}");
            if (stream.ReadByte() >= 0) throw UnsupException.ForFile(path, $"unexpected bytes after the {nbytes} bytes of data declared by the header");
            return ToTensor(type, data, dims);
        }
        catch (InvalidDataException e)
        {
            throw UnsupException.ForFile(path, $"corrupt gzip data ({e.Message})", e);
        }
    }

    /// <summary>Opens a file for reading, transparently decompressing gzip. Missing file → UnsupException.</summary>
    internal static Stream Open(string path)
    {
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, e is FileNotFoundException or DirectoryNotFoundException ? "file not found" : $"cannot read ({e.Message})", e); }
        int b0 = fs.ReadByte(), b1 = fs.ReadByte();
        fs.Position = 0;
        if (b0 == 0x1f && b1 == 0x8b) return new BufferedStream(new GZipStream(fs, CompressionMode.Decompress), 1 << 16);
        return fs;
    }

    static (byte type, int elem, long[] dims) ReadHeader(Stream s, string path)
    {
        var head = new byte[4];
        if (s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < 4) throw UnsupException.ForFile(path, "truncated: too short for an IDX header");
        if (head[0] != 0 || head[1] != 0)
            throw UnsupException.ForFile(path, $"not an IDX file (magic {head[0]:x2} {head[1]:x2} {head[2]:x2} {head[3]:x2}, expected 00 00 TYPE NDIMS)");
        int elem = head[2] switch { 0x08 or 0x09 => 1, 0x0B => 2, 0x0C or 0x0D => 4, 0x0E => 8, _ => 0 };
        if (elem == 0) throw UnsupException.ForFile(path, $"unknown IDX data type code 0x{head[2]:x2} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
        int ndims = head[3];
        if (ndims == 0) throw UnsupException.ForFile(path, "IDX header declares 0 dimensions");
        var raw = new byte[4 * ndims];
        if (s.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false) < raw.Length) throw UnsupException.ForFile(path, $"truncated: header declares {ndims} dimensions but ends early");
        var dims = new long[ndims];
        for (int i = 0; i < ndims; i++)
        {
            int d = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 * i));
            if (d < 0) throw UnsupException.ForFile(path, $"negative dimension {d} in the IDX header");
            dims[i] = d;
        }
        return (head[2], elem, dims);
    }

    static Tensor ToTensor(byte type, byte[] data, long[] dims)
    {
        switch (type)
        {
            case 0x08: return torch.tensor(data, dims);
            case 0x09: return torch.tensor(MemoryMarshal.Cast<byte, sbyte>(data).ToArray(), dims);
            case 0x0B:
            {
                var v = MemoryMarshal.Cast<byte, short>(data).ToArray();
                if (BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(v, v);
                return torch.tensor(v, dims);
            }
            case 0x0C:
            {
                var v = MemoryMarshal.Cast<byte, int>(data).ToArray();
                if (BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(v, v);
                return torch.tensor(v, dims);
            }
            case 0x0D:
            {
                if (BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, int>(data.AsSpan()), MemoryMarshal.Cast<byte, int>(data.AsSpan()));
                return torch.tensor(MemoryMarshal.Cast<byte, float>(data).ToArray(), dims);
            }
            default: // 0x0E
            {
                if (BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, long>(data.AsSpan()), MemoryMarshal.Cast<byte, long>(data.AsSpan()));
                return torch.tensor(MemoryMarshal.Cast<byte, double>(data).ToArray(), dims);
            }
        }
    }

}
