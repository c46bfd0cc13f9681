using System.Buffers.Binary;
using System.Text;

namespace Unsup.IO.Nifti;

/// <summary>
/// The 348-byte NIfTI-1 header with every field kept, so an image read and written back (or a new image
/// made "like" it) carries the same geometry, units, intent and description.
/// Parsed from either byte order; always serialised little-endian. A NIfTI-2 header (540 bytes, see
/// <see cref="Nifti2Layout"/>) is held in the same fields: its int64 dims in <see cref="Dim"/>, its doubles
/// narrowed to float.
/// </summary>
public sealed class NiftiHeader
{
    public const int Size = 348;
    /// <summary>Header + the 4-byte extension flag: where single-file voxel data starts when there are no extensions.</summary>
    public const int MinVoxOffset = 352;

    public int SizeofHdr = Size;
    public string DataTypeName = "";   // char[10], unused (ANALYZE)
    public string DbName = "";         // char[18], unused
    public int Extents;
    public short SessionError;
    public byte Regular = (byte)'r';
    public byte DimInfo;
    public long[] Dim = new long[8];
    public float IntentP1, IntentP2, IntentP3;
    public short IntentCode;
    public short Datatype;
    public short Bitpix;
    public short SliceStart;
    public float[] Pixdim = [1, 1, 1, 1, 1, 1, 1, 1];
    public float VoxOffset = MinVoxOffset;
    public float SclSlope, SclInter;
    public short SliceEnd;
    public byte SliceCode;
    public byte XyztUnits;
    public float CalMax, CalMin;
    public float SliceDuration;
    public float Toffset;
    public int Glmax, Glmin;
    public string Descrip = "";        // char[80]
    public string AuxFile = "";        // char[24]
    public short QformCode, SformCode;
    public float QuaternB, QuaternC, QuaternD;
    public float QoffsetX, QoffsetY, QoffsetZ;
    public float[] SrowX = new float[4], SrowY = new float[4], SrowZ = new float[4];
    public string IntentName = "";     // char[16]
    public string Magic = "n+1";       // char[4]

    /// <summary>
    /// Header extensions (AFNI, DICOM, JSON sidecars...) kept verbatim so they survive a read/write; they
    /// live between the header and vox_offset, not in the 348 bytes.
    /// </summary>
    public List<NiftiExtension> Extensions = [];

    /// <summary>Bytes the extensions take on disk (each padded to a multiple of 16 with its 8-byte size/code prefix).</summary>
    public int ExtensionsSize => Extensions.Sum(e => e.DiskSize);

    /// <summary>True when the file was big-endian (its voxel data must be byte-swapped too).</summary>
    public bool BigEndian;

    /// <summary>1 or 2: the NIfTI version the header was read as (from sizeof_hdr).</summary>
    public int Version => SizeofHdr == Nifti2Layout.Size ? 2 : 1;

    /// <summary>Number of dimensions (dim[0]).</summary>
    public int NDim => (int)Dim[0];

    /// <summary>The image shape, dim[1..dim[0]] (x first, as nibabel reports it).</summary>
    public long[] Shape
    {
        get
        {
            var s = new long[Math.Clamp(Dim[0], 0, 7)];
            for (int i = 0; i < s.Length; i++) s[i] = Dim[i + 1];
            return s;
        }
    }

    /// <summary>True when scl_slope/scl_inter change the stored values (slope not 0/NaN and not the identity).</summary>
    public bool HasScaling =>
        float.IsFinite(SclSlope) && SclSlope != 0 && !(SclSlope == 1 && (SclInter == 0 || !float.IsFinite(SclInter)));

    public NiftiHeader Clone()
    {
        var h = (NiftiHeader)MemberwiseClone();
        h.Dim = (long[])Dim.Clone();
        h.Pixdim = (float[])Pixdim.Clone();
        h.SrowX = (float[])SrowX.Clone();
        h.SrowY = (float[])SrowY.Clone();
        h.SrowZ = (float[])SrowZ.Clone();
        h.Extensions = [.. Extensions];
        return h;
    }

    /// <summary>
    /// The header size (348 for NIfTI-1, 540 for NIfTI-2) and byte order that the first 4 bytes (sizeof_hdr)
    /// announce, or null when they are neither.
    /// </summary>
    public static (int Size, bool BigEndian)? Sniff(ReadOnlySpan<byte> first4)
    {
        if (first4.Length < 4) return null;
        int le = BinaryPrimitives.ReadInt32LittleEndian(first4), be = BinaryPrimitives.ReadInt32BigEndian(first4);
        if (le == Size || le == Nifti2Layout.Size) return (le, false);
        if (be == Size || be == Nifti2Layout.Size) return (be, true);
        return null;
    }

    /// <summary>
    /// Parses a NIfTI-1 (348-byte) or NIfTI-2 (540-byte) header at the start of <paramref name="bytes"/>;
    /// problems are reported against <paramref name="path"/>.
    /// </summary>
    public static NiftiHeader Parse(ReadOnlySpan<byte> bytes, string path)
    {
        var kind = Sniff(bytes);
        if (kind is (Nifti2Layout.Size, bool big2))
        {
            if (bytes.Length < Nifti2Layout.Size)
                throw UnsupException.ForFile(path, $"truncated NIfTI header: {bytes.Length} bytes, a NIfTI-2 header needs {Nifti2Layout.Size}");
            var h2 = Nifti2Layout.Parse(bytes, big2, path);
            h2.Validate(path);
            return h2;
        }
        if (bytes.Length < Size)
            throw UnsupException.ForFile(path, $"truncated NIfTI header: {bytes.Length} bytes, a NIfTI-1 header needs {Size}");
        if (kind is not (Size, bool big))
            throw UnsupException.ForFile(path, $"not a NIfTI-1 file (sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(bytes)}, expected 348)");

        var r = new Reader(bytes, big);
        var h = new NiftiHeader { BigEndian = big };
        h.SizeofHdr = r.I32(0);
        h.DataTypeName = r.Str(4, 10);
        h.DbName = r.Str(14, 18);
        h.Extents = r.I32(32);
        h.SessionError = r.I16(36);
        h.Regular = bytes[38];
        h.DimInfo = bytes[39];
        for (int i = 0; i < 8; i++) h.Dim[i] = r.I16(40 + 2 * i);
        h.IntentP1 = r.F32(56); h.IntentP2 = r.F32(60); h.IntentP3 = r.F32(64);
        h.IntentCode = r.I16(68);
        h.Datatype = r.I16(70);
        h.Bitpix = r.I16(72);
        h.SliceStart = r.I16(74);
        for (int i = 0; i < 8; i++) h.Pixdim[i] = r.F32(76 + 4 * i);
        h.VoxOffset = r.F32(108);
        h.SclSlope = r.F32(112); h.SclInter = r.F32(116);
        h.SliceEnd = r.I16(120);
        h.SliceCode = bytes[122];
        h.XyztUnits = bytes[123];
        h.CalMax = r.F32(124); h.CalMin = r.F32(128);
        h.SliceDuration = r.F32(132);
        h.Toffset = r.F32(136);
        h.Glmax = r.I32(140); h.Glmin = r.I32(144);
        h.Descrip = r.Str(148, 80);
        h.AuxFile = r.Str(228, 24);
        h.QformCode = r.I16(252); h.SformCode = r.I16(254);
        h.QuaternB = r.F32(256); h.QuaternC = r.F32(260); h.QuaternD = r.F32(264);
        h.QoffsetX = r.F32(268); h.QoffsetY = r.F32(272); h.QoffsetZ = r.F32(276);
        for (int i = 0; i < 4; i++)
        {
            h.SrowX[i] = r.F32(280 + 4 * i);
            h.SrowY[i] = r.F32(296 + 4 * i);
            h.SrowZ[i] = r.F32(312 + 4 * i);
        }
        h.IntentName = r.Str(328, 16);
        h.Magic = r.Str(344, 4);

        if (h.Magic == "ni1")
            throw UnsupException.ForFile(path, "is the header of a .hdr/.img NIfTI pair; only single-file .nii/.nii.gz is supported");
        if (h.Magic != "n+1")
            throw UnsupException.ForFile(path, "not a NIfTI-1 file (no 'n+1' magic; an ANALYZE 7.5 header?)");
        h.Validate(path);
        return h;
    }

    /// <summary>Checks dimensions and datatype consistency; throws a user-facing error naming the problem.</summary>
    public void Validate(string path)
    {
        if (Dim[0] < 1 || Dim[0] > 7)
            throw UnsupException.ForFile(path, $"invalid NIfTI dimensions: dim[0] = {Dim[0]} (must be 1..7)");
        for (int i = 1; i <= Dim[0]; i++)
            if (Dim[i] < 1)
                throw UnsupException.ForFile(path, $"invalid NIfTI dimensions: dim[{i}] = {Dim[i]} (dim = [{string.Join(", ", Dim)}])");
    }

    /// <summary>Little-endian 348 bytes (NIfTI-1); dims must fit in int16.</summary>
    public byte[] Serialize()
    {
        for (int i = 0; i < 8; i++)
            if (Dim[i] > short.MaxValue || Dim[i] < short.MinValue)
                throw new UnsupException($"dimension {Dim[i]} does not fit a NIfTI-1 header (max 32767): write NIfTI-2");
        var b = new byte[Size];
        var w = new Writer(b);
        w.I32(0, Size);
        w.Str(4, 10, DataTypeName);
        w.Str(14, 18, DbName);
        w.I32(32, Extents);
        w.I16(36, SessionError);
        b[38] = Regular;
        b[39] = DimInfo;
        for (int i = 0; i < 8; i++) w.I16(40 + 2 * i, (short)Dim[i]);
        w.F32(56, IntentP1); w.F32(60, IntentP2); w.F32(64, IntentP3);
        w.I16(68, IntentCode);
        w.I16(70, Datatype);
        w.I16(72, Bitpix);
        w.I16(74, SliceStart);
        for (int i = 0; i < 8; i++) w.F32(76 + 4 * i, Pixdim[i]);
        w.F32(108, VoxOffset);
        w.F32(112, SclSlope); w.F32(116, SclInter);
        w.I16(120, SliceEnd);
        b[122] = SliceCode;
        b[123] = XyztUnits;
        w.F32(124, CalMax); w.F32(128, CalMin);
        w.F32(132, SliceDuration);
        w.F32(136, Toffset);
        w.I32(140, Glmax); w.I32(144, Glmin);
        w.Str(148, 80, Descrip);
        w.Str(228, 24, AuxFile);
        w.I16(252, QformCode); w.I16(254, SformCode);
        w.F32(256, QuaternB); w.F32(260, QuaternC); w.F32(264, QuaternD);
        w.F32(268, QoffsetX); w.F32(272, QoffsetY); w.F32(276, QoffsetZ);
        for (int i = 0; i < 4; i++)
        {
            w.F32(280 + 4 * i, SrowX[i]);
            w.F32(296 + 4 * i, SrowY[i]);
            w.F32(312 + 4 * i, SrowZ[i]);
        }
        w.Str(328, 16, IntentName);
        w.Str(344, 4, Magic);
        return b;
    }

    /// <summary>
    /// Parses the extension list stored in the bytes after the 4-byte extender; a malformed list ends it
    /// (the remaining bytes are ignored, as nibabel does) rather than failing the read.
    /// </summary>
    internal static List<NiftiExtension> ParseExtensions(ReadOnlySpan<byte> b, bool bigEndian)
    {
        var list = new List<NiftiExtension>();
        int pos = 0;
        while (pos + 8 <= b.Length)
        {
            var r = new Reader(b[pos..], bigEndian);
            int esize = r.I32(0), ecode = r.I32(4);
            if (esize < 8 || esize > b.Length - pos) break;
            list.Add(new NiftiExtension(ecode, b.Slice(pos + 8, esize - 8).ToArray()));
            pos += esize;
        }
        return list;
    }

    internal byte[] SerializeExtensions()
    {
        var b = new byte[ExtensionsSize];
        int pos = 0;
        foreach (var e in Extensions)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pos), e.DiskSize);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pos + 4), e.Code);
            e.Content.CopyTo(b, pos + 8);
            pos += e.DiskSize;
        }
        return b;
    }

    readonly ref struct Reader(ReadOnlySpan<byte> b, bool big)
    {
        readonly ReadOnlySpan<byte> _b = b;
        public int I32(int o) => big ? BinaryPrimitives.ReadInt32BigEndian(_b[o..]) : BinaryPrimitives.ReadInt32LittleEndian(_b[o..]);
        public short I16(int o) => big ? BinaryPrimitives.ReadInt16BigEndian(_b[o..]) : BinaryPrimitives.ReadInt16LittleEndian(_b[o..]);
        public float F32(int o) => big ? BinaryPrimitives.ReadSingleBigEndian(_b[o..]) : BinaryPrimitives.ReadSingleLittleEndian(_b[o..]);
        public string Str(int o, int n)
        {
            var s = _b.Slice(o, n);
            int end = s.IndexOf((byte)0);
            return Encoding.Latin1.GetString(end < 0 ? s : s[..end]);
        }
    }

    readonly ref struct Writer(Span<byte> b)
    {
        readonly Span<byte> _b = b;
        public void I32(int o, int v) => BinaryPrimitives.WriteInt32LittleEndian(_b[o..], v);
        public void I16(int o, short v) => BinaryPrimitives.WriteInt16LittleEndian(_b[o..], v);
        public void F32(int o, float v) => BinaryPrimitives.WriteSingleLittleEndian(_b[o..], v);
        public void Str(int o, int n, string s)
        {
            var bytes = Encoding.Latin1.GetBytes(s ?? "");
            bytes.AsSpan(0, Math.Min(bytes.Length, n)).CopyTo(_b.Slice(o, n));
        }
    }
}

/// <summary>One NIfTI-1 header extension: its ecode (e.g. 4 AFNI, 2 DICOM, 6 comment) and raw content.</summary>
public sealed record NiftiExtension(int Code, byte[] Content)
{
    /// <summary>esize: 8-byte prefix + content, rounded up to a multiple of 16 as the standard requires.</summary>
    public int DiskSize => (8 + Content.Length + 15) / 16 * 16;
}
