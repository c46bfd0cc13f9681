using System.Buffers.Binary;
using System.Text;

namespace Unsup.IO.Nifti;

/// <summary>
/// The 540-byte NIfTI-2 header: the NIfTI-1 fields with int64 dims/vox_offset and float64 geometry, in a
/// different order. Read into and written from <see cref="NiftiHeader"/> (doubles narrowed to float there,
/// which keeps affines to ~1e-7 relative).
/// </summary>
public static class Nifti2Layout
{
    public const int Size = 540;
    /// <summary>Header + the 4-byte extension flag.</summary>
    public const int MinVoxOffset = 544;
    const string Magic = "n+2";
    static readonly byte[] MagicBytes = [(byte)'n', (byte)'+', (byte)'2', 0, 0x0D, 0x0A, 0x1A, 0x0A];

    public static NiftiHeader Parse(ReadOnlySpan<byte> bytes, bool big, string path)
    {
        var b = bytes[..Size].ToArray(); // an array, so the local readers below can capture it
        long I64(int o) => big ? BinaryPrimitives.ReadInt64BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(o));
        int I32(int o) => big ? BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(o));
        short I16(int o) => big ? BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(o));
        float F64(int o) => (float)(big ? BinaryPrimitives.ReadDoubleBigEndian(b.AsSpan(o)) : BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(o)));

        var magic = Str(b, 4, 4);
        if (magic == "ni2")
            throw UnsupException.ForFile(path, "is the header of a .hdr/.img NIfTI-2 pair; only single-file .nii/.nii.gz is supported");
        if (magic != Magic)
            throw UnsupException.ForFile(path, "not a NIfTI-2 file (sizeof_hdr is 540 but there is no 'n+2' magic)");

        var h = new NiftiHeader { BigEndian = big, SizeofHdr = Size, Magic = Magic };
        h.Datatype = I16(12);
        h.Bitpix = I16(14);
        for (int i = 0; i < 8; i++) h.Dim[i] = I64(16 + 8 * i);
        h.IntentP1 = F64(80); h.IntentP2 = F64(88); h.IntentP3 = F64(96);
        for (int i = 0; i < 8; i++) h.Pixdim[i] = F64(104 + 8 * i);
        long voxOffset = I64(168);
        h.VoxOffset = voxOffset;
        h.SclSlope = F64(176); h.SclInter = F64(184);
        h.CalMax = F64(192); h.CalMin = F64(200);
        h.SliceDuration = F64(208);
        h.Toffset = F64(216);
        h.SliceStart = (short)Math.Clamp(I64(224), short.MinValue, short.MaxValue);
        h.SliceEnd = (short)Math.Clamp(I64(232), short.MinValue, short.MaxValue);
        h.Descrip = Str(b, 240, 80);
        h.AuxFile = Str(b, 320, 24);
        h.QformCode = (short)I32(344); h.SformCode = (short)I32(348);
        h.QuaternB = F64(352); h.QuaternC = F64(360); h.QuaternD = F64(368);
        h.QoffsetX = F64(376); h.QoffsetY = F64(384); h.QoffsetZ = F64(392);
        for (int i = 0; i < 4; i++)
        {
            h.SrowX[i] = F64(400 + 8 * i);
            h.SrowY[i] = F64(432 + 8 * i);
            h.SrowZ[i] = F64(464 + 8 * i);
        }
        h.SliceCode = (byte)I32(496);
        h.XyztUnits = (byte)I32(500);
        h.IntentCode = (short)I32(504);
        h.IntentName = Str(b, 508, 16);
        h.DimInfo = b[524];
        return h;
    }

    /// <summary>Little-endian 540 bytes; vox_offset is taken from <paramref name="h"/>.</summary>
    public static byte[] Serialize(NiftiHeader h)
    {
        var b = new byte[Size];
        void I64(int o, long v) => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(o), v);
        void I32(int o, int v) => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(o), v);
        void F64(int o, float v) => BinaryPrimitives.WriteDoubleLittleEndian(b.AsSpan(o), v);
        I32(0, Size);
        MagicBytes.CopyTo(b, 4);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(12), h.Datatype);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(14), h.Bitpix);
        for (int i = 0; i < 8; i++) I64(16 + 8 * i, h.Dim[i]);
        F64(80, h.IntentP1); F64(88, h.IntentP2); F64(96, h.IntentP3);
        for (int i = 0; i < 8; i++) F64(104 + 8 * i, h.Pixdim[i]);
        I64(168, (long)h.VoxOffset);
        F64(176, h.SclSlope); F64(184, h.SclInter);
        F64(192, h.CalMax); F64(200, h.CalMin);
        F64(208, h.SliceDuration);
        F64(216, h.Toffset);
        I64(224, h.SliceStart); I64(232, h.SliceEnd);
        PutStr(b, 240, 80, h.Descrip);
        PutStr(b, 320, 24, h.AuxFile);
        I32(344, h.QformCode); I32(348, h.SformCode);
        F64(352, h.QuaternB); F64(360, h.QuaternC); F64(368, h.QuaternD);
        F64(376, h.QoffsetX); F64(384, h.QoffsetY); F64(392, h.QoffsetZ);
        for (int i = 0; i < 4; i++)
        {
            F64(400 + 8 * i, h.SrowX[i]);
            F64(432 + 8 * i, h.SrowY[i]);
            F64(464 + 8 * i, h.SrowZ[i]);
        }
        I32(496, h.SliceCode);
        I32(500, h.XyztUnits);
        I32(504, h.IntentCode);
        PutStr(b, 508, 16, h.IntentName);
        b[524] = h.DimInfo;
        return b;
    }

    static string Str(ReadOnlySpan<byte> b, int o, int n)
    {
        var s = b.Slice(o, n);
        int end = s.IndexOf((byte)0);
        return Encoding.Latin1.GetString(end < 0 ? s : s[..end]);
    }

    static void PutStr(byte[] b, int o, int n, string s)
    {
        var bytes = Encoding.Latin1.GetBytes(s ?? "");
        bytes.AsSpan(0, Math.Min(bytes.Length, n)).CopyTo(b.AsSpan(o, n));
    }
}
