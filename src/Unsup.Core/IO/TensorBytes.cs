using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO;

/// <summary>
/// Moves whole voxel/array buffers between raw bytes and tensors in one go: file readers hand over a
/// decompressed byte[] and never touch individual elements in C#.
/// </summary>
public static class TensorBytes
{
    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentException($"unsupported tensor dtype {t}"),
    };

    /// <summary>
    /// Reads <paramref name="shape"/>'s worth of elements (C order) from <paramref name="stream"/> straight into
    /// a typed array that becomes the tensor's storage: no per-element work and no intermediate byte[].
    /// <paramref name="bigEndian"/> data is byte-swapped in bulk. Returns null when the stream ends early,
    /// with <paramref name="bytesRead"/> saying how much was there.
    /// </summary>
    public static Tensor? Read(Stream stream, ScalarType dtype, long[] shape, bool bigEndian, out long bytesRead)
    {
        int size = ElementSize(dtype);
        long nbytes = ByteCount(shape, size), count = nbytes / size;
        if (nbytes > Array.MaxLength)
            throw new UnsupException($"arrays over 2 GiB are not supported ({(nbytes == long.MaxValue ? "shape overflows" : nbytes + " bytes")})");
        // A header that claims more than the stream can deliver is refused before the array is made; counting the
        // bytes that are there keeps the caller's "truncated: expected N, found M" message exact.
        if (nbytes > MaxReadable(stream))
        {
            bytesRead = CountRemaining(stream);
            return null;
        }
        bool swap = bigEndian && size > 1 && BitConverter.IsLittleEndian;
        Array? a = dtype switch
        {
            ScalarType.Byte => ReadTyped<byte>(stream, count, false, out bytesRead),
            ScalarType.Bool => ReadTyped<bool>(stream, count, false, out bytesRead),
            ScalarType.Int8 => ReadTyped<sbyte>(stream, count, false, out bytesRead),
            ScalarType.Int16 => ReadTyped<short>(stream, count, swap, out bytesRead),
            ScalarType.Int32 => ReadTyped<int>(stream, count, swap, out bytesRead),
            ScalarType.Float32 => ReadTyped<float>(stream, count, swap, out bytesRead),
            ScalarType.Int64 => ReadTyped<long>(stream, count, swap, out bytesRead),
            ScalarType.Float64 => ReadTyped<double>(stream, count, swap, out bytesRead),
            _ => throw new ArgumentException($"unsupported tensor dtype {dtype}"),
        };
        if (a == null) return null;
        if (count == 0) return torch.empty(shape, dtype);
        // frombuffer keeps the freshly read array pinned as the tensor's storage (no copy).
        return torch.frombuffer(a, dtype).reshape(shape);
    }

    /// <summary>Bytes of <paramref name="shape"/> at <paramref name="elementSize"/>; long.MaxValue when negative or when the product overflows.</summary>
    public static long ByteCount(IEnumerable<long> shape, int elementSize)
    {
        long n = elementSize;
        foreach (var d in shape)
        {
            if (d < 0) return long.MaxValue;
            if (d != 0 && n > long.MaxValue / d) return long.MaxValue;
            n *= d;
        }
        return n;
    }

    /// <summary>Deflate's largest possible expansion (zlib's figure): a compressed byte never yields more than this.</summary>
    public const long MaxDeflateRatio = 1032;

    /// <summary>
    /// An upper bound on the bytes <paramref name="s"/> can still deliver: what is left of a file; of gzip/deflate
    /// content, the compressed file's length times <see cref="MaxDeflateRatio"/>. long.MaxValue when unknown.
    /// </summary>
    public static long MaxReadable(Stream s)
    {
        try
        {
            return s switch
            {
                BufferedStream b => Add(MaxReadable(b.UnderlyingStream), b.BufferSize),
                GZipStream g => Compressed(g.BaseStream),
                DeflateStream d => Compressed(d.BaseStream),
                _ when s.CanSeek => Math.Max(0, s.Length - s.Position),
                _ => long.MaxValue,
            };
        }
        catch (NotSupportedException) { return long.MaxValue; }

        static long Compressed(Stream inner)
        {
            long n = MaxReadable(inner);
            if (inner.CanSeek) n = inner.Length; // the decompressor may have buffered input already read from it
            return n > long.MaxValue / MaxDeflateRatio ? long.MaxValue : n * MaxDeflateRatio + (1 << 16);
        }
        static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
    }

    static long CountRemaining(Stream s)
    {
        var buf = new byte[1 << 16];
        long total = 0;
        int r;
        while ((r = s.Read(buf)) > 0) total += r;
        return total;
    }

    static T[]? ReadTyped<T>(Stream s, long count, bool swap, out long bytesRead) where T : unmanaged
    {
        var a = new T[count];
        var bytes = MemoryMarshal.AsBytes(a.AsSpan());
        int total = 0;
        while (total < bytes.Length)
        {
            int r = s.Read(bytes[total..]);
            if (r == 0) break;
            total += r;
        }
        bytesRead = total;
        if (total < bytes.Length) return null;
        if (swap) Ordered(a, swap: true);
        return a;
    }

    /// <summary>Writes the elements of <paramref name="t"/> in C order, little-endian (or big-endian, swapped in bulk), to <paramref name="s"/>.</summary>
    public static void WriteTo(Stream s, Tensor t, bool bigEndian = false)
    {
        using var scope = torch.NewDisposeScope();
        var c = t.detach().cpu().contiguous();
        if (c.numel() == 0) return;
        bool swap = bigEndian == BitConverter.IsLittleEndian;
        switch (c.dtype)
        {
            case ScalarType.Byte: s.Write(c.data<byte>().ToArray()); break;
            case ScalarType.Int8: s.Write(MemoryMarshal.AsBytes<sbyte>(c.data<sbyte>().ToArray())); break;
            case ScalarType.Bool: s.Write(MemoryMarshal.AsBytes<bool>(c.data<bool>().ToArray())); break;
            case ScalarType.Int16: s.Write(Ordered<short>(c.data<short>().ToArray(), swap)); break;
            case ScalarType.Int32: s.Write(Ordered<int>(c.data<int>().ToArray(), swap)); break;
            case ScalarType.Int64: s.Write(Ordered<long>(c.data<long>().ToArray(), swap)); break;
            case ScalarType.Float32: s.Write(Ordered<float>(c.data<float>().ToArray(), swap)); break;
            case ScalarType.Float64: s.Write(Ordered<double>(c.data<double>().ToArray(), swap)); break;
            default: throw new ArgumentException($"cannot serialise tensor dtype {c.dtype}");
        }
    }

    static ReadOnlySpan<byte> Ordered<T>(T[] a, bool swap) where T : unmanaged
    {
        if (swap)
        {
            var span = a.AsSpan();
            switch (Unsafe.SizeOf<T>())
            {
                case 2: { var x = MemoryMarshal.Cast<T, short>(span); BinaryPrimitives.ReverseEndianness(x, x); break; }
                case 4: { var x = MemoryMarshal.Cast<T, int>(span); BinaryPrimitives.ReverseEndianness(x, x); break; }
                case 8: { var x = MemoryMarshal.Cast<T, long>(span); BinaryPrimitives.ReverseEndianness(x, x); break; }
            }
        }
        return MemoryMarshal.AsBytes<T>(a);
    }

    /// <summary>Permutation that reverses the axes: turns C-order storage into Fortran-order logical layout and back.</summary>
    public static long[] ReversedAxes(int ndim)
    {
        var p = new long[ndim];
        for (int i = 0; i < ndim; i++) p[i] = ndim - 1 - i;
        return p;
    }
}
