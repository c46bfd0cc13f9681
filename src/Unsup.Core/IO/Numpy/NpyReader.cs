using System.Buffers.Binary;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Numpy;

/// <summary>Reads NumPy .npy arrays (format 1.0, 2.0, 3.0; C or Fortran order; either byte order) into tensors.</summary>
public static class NpyReader
{
    public static Tensor Read(string path) => Read(path, out _);

    /// <summary>The array as a tensor with the array's logical shape (0-d allowed) and matching dtype.</summary>
    public static Tensor Read(string path, out NpyHeader header)
    {
        using var s = Open(path);
        return Read(s, path, out header);
    }

    public static NpyHeader ReadHeader(string path)
    {
        using var s = Open(path);
        return ReadHeader(s, path);
    }

    /// <summary>Reads one array from <paramref name="stream"/>; <paramref name="displayName"/> names it in errors.</summary>
    public static Tensor Read(Stream stream, string displayName, out NpyHeader header)
    {
        try
        {
            header = ReadHeader(stream, displayName);
            var (storage, result, big) = header.Layout(displayName);
            var shape = header.Shape;
            long need = TensorBytes.ByteCount(shape, TensorBytes.ElementSize(storage));
            if (need > Array.MaxLength)
                throw UnsupException.ForFile(displayName, $"array of shape ({string.Join(", ", shape)}) is over the 2 GiB supported");

            // Fortran order stores the first axis fastest = C order of the reversed shape.
            var stored = header.FortranOrder ? shape.Reverse().ToArray() : shape;
            using var raw = TensorBytes.Read(stream, storage, stored, big, out long found)
                ?? throw UnsupException.ForFile(displayName, $"truncated: expected {need} bytes of array data, found {found}");
            using var scope = torch.NewDisposeScope();
            var t = raw.alias();
            if (header.FortranOrder && shape.Length > 1)
                t = t.permute(TensorBytes.ReversedAxes(shape.Length)).contiguous();
            if (storage != result)
                t = t.to_type(result).bitwise_and(result == ScalarType.Int32 ? 0xFFFFL : 0xFFFFFFFFL);
            return t.MoveToOuterDisposeScope();
        }
        catch (InvalidDataException e)
        { throw UnsupException.ForFile(displayName, $"corrupt compressed data ({e.Message})", e); }
        catch (IOException e) when (e is not EndOfStreamException)
        { throw UnsupException.ForFile(displayName, $"cannot read ({e.Message})", e); }
    }

    public static NpyHeader ReadHeader(Stream s, string path)
    {
        Span<byte> pre = stackalloc byte[10];
        int n = s.ReadAtLeast(pre, pre.Length, throwOnEndOfStream: false);
        if (n < 6 || !pre[..6].SequenceEqual(NpyHeader.Magic))
            throw UnsupException.ForFile(path, "not a NumPy .npy file (missing the \\x93NUMPY magic)");
        if (n < 10)
            throw UnsupException.ForFile(path, "truncated .npy header");
        int major = pre[6], minor = pre[7];
        long hlen;
        if (major == 1) hlen = BinaryPrimitives.ReadUInt16LittleEndian(pre[8..]);
        else if (major is 2 or 3)
        {
            Span<byte> more = stackalloc byte[2];
            if (s.ReadAtLeast(more, more.Length, throwOnEndOfStream: false) < 2) throw UnsupException.ForFile(path, "truncated .npy header");
            hlen = BinaryPrimitives.ReadUInt32LittleEndian([pre[8], pre[9], more[0], more[1]]);
        }
        else throw UnsupException.ForFile(path, $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");
        if (hlen > 1 << 24)
            throw UnsupException.ForFile(path, $"bad .npy header length {hlen}");

        var dict = new byte[hlen];
        if (s.ReadAtLeast(dict, dict.Length, throwOnEndOfStream: false) < hlen)
            throw UnsupException.ForFile(path, $"truncated .npy header (expected {hlen} header bytes)");
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(dict);
        return NpyHeader.ParseDict(text, major, minor, path);
    }

    internal static Stream Open(string path)
    {
        if (!File.Exists(path))
            throw UnsupException.ForFile(path, Directory.Exists(path) ? "is a folder, not a file" : "file not found");
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw UnsupException.ForFile(path, $"cannot read ({e.Message})", e); }
    }

}
