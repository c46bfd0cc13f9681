using static TorchSharp.torch;

namespace Unsup.Training;

/// <summary>
/// One tensor in a checkpoint: dtype, shape, raw bytes. Our own record (not TorchSharp's Save) so a reader
/// can name the parameter and both shapes when a checkpoint does not fit the model.
/// </summary>
internal static class TensorRecord
{
    const long MaxDims = 16;

    public static void Write(BinaryWriter w, Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        w.Write((int)c.dtype);
        w.Write(c.shape.Length);
        foreach (var d in c.shape) w.Write(d);
        long nbytes = c.numel() * c.ElementSize;
        w.Write(nbytes);
        w.Flush();
        c.WriteBytesToStream(w.BaseStream, 1 << 20);
    }

    /// <summary>Reads one record; the caller owns (disposes) the tensor. Throws InvalidDataException on nonsense.</summary>
    public static Tensor Read(BinaryReader r)
    {
        var dtype = (ScalarType)r.ReadInt32();
        if (!Enum.IsDefined(dtype)) throw new InvalidDataException($"unknown tensor dtype code {(int)dtype}");
        int ndim = r.ReadInt32();
        if (ndim < 0 || ndim > MaxDims) throw new InvalidDataException($"tensor with {ndim} dimensions");
        var shape = new long[ndim];
        for (int i = 0; i < ndim; i++)
        {
            shape[i] = r.ReadInt64();
            if (shape[i] < 0) throw new InvalidDataException($"negative tensor dimension {shape[i]}");
        }
        long nbytes = r.ReadInt64();
        // checked before the tensor is made, so a lying shape cannot allocate more than the file holds
        long expected;
        try { expected = Unsup.IO.TensorBytes.ByteCount(shape, Unsup.IO.TensorBytes.ElementSize(dtype)); }
        catch (ArgumentException) { throw new InvalidDataException($"unsupported tensor dtype {dtype}"); }
        if (nbytes != expected)
            throw new InvalidDataException($"tensor {FormatShape(shape)} of {dtype} should have {expected} bytes, record says {nbytes}");
        if (nbytes > r.BaseStream.Length - r.BaseStream.Position)
            throw new InvalidDataException("tensor data runs past the end of the file");
        var t = empty(shape, dtype).DetachFromDisposeScope();   // owned by CheckpointData, not by whatever scope the caller is in
        try
        {
            t.ReadBytesFromStream(r.BaseStream, 1 << 20);
            return t;
        }
        catch { t.Dispose(); throw; }
    }

    public static string FormatShape(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
