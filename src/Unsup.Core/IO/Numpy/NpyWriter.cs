using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace Unsup.IO.Numpy;

/// <summary>Writes tensors as NumPy .npy arrays (C order, little-endian; format 1.0, or 2.0 for huge headers).</summary>
public static class NpyWriter
{
    public static void Write(string path, Tensor t) => AtomicFile.Write(path, s => Write(s, t));

    public static void Write(Stream s, Tensor t)
    {
        string descr = NpyHeader.DescrFor(t.dtype);
        var dims = t.shape;
        string shape = dims.Length switch
        {
            0 => "()",
            1 => $"({dims[0]},)",
            _ => "(" + string.Join(", ", dims) + ")",
        };
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";

        // numpy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
        bool v2 = dict.Length + 1 + 10 > ushort.MaxValue;
        int prefix = v2 ? 12 : 10;
        int total = (prefix + dict.Length + 1 + 63) / 64 * 64;
        var header = dict.PadRight(total - prefix - 1) + "\n";

        Span<byte> pre = stackalloc byte[prefix];
        NpyHeader.Magic.CopyTo(pre);
        pre[6] = (byte)(v2 ? 2 : 1);
        pre[7] = 0;
        if (v2) BinaryPrimitives.WriteUInt32LittleEndian(pre[8..], (uint)header.Length);
        else BinaryPrimitives.WriteUInt16LittleEndian(pre[8..], (ushort)header.Length);
        s.Write(pre);
        s.Write(Encoding.Latin1.GetBytes(header));
        TensorBytes.WriteTo(s, t);
    }
}
