using System.Buffers.Binary;
using TorchSharp;
using Unsup.IO.Nifti;

namespace Unsup.IO.Mgh;

/// <summary>
/// FreeSurfer's MGH header (284 bytes, big-endian; voxels follow at byte 284, x fastest, frames last) and
/// the optional footer after the voxels (TR, flip angle, TE, TI, FoV; later tags are ignored). The
/// vox2ras affine is computed as nibabel's <c>MGHHeader.get_affine</c> does and set as its
/// <c>MGHImage._affine2header</c> does, so both read the same geometry.
/// </summary>
public sealed class MghHeader
{
    public const int DataOffset = 284;
    /// <summary>The part of the 284 bytes that holds fields (the rest is zero padding).</summary>
    public const int FieldsSize = 90;
    public const int FooterSize = 20;
    public const int Uchar = 0, Int = 1, Long = 2, Float = 3, Short = 4;

    public int Version = 1;
    /// <summary>width, height, depth, nframes.</summary>
    public int[] Dims = [1, 1, 1, 1];
    public int Type = Float;
    public int Dof;
    public short GoodRasFlag = 1;
    /// <summary>Voxel spacing (mm) along the three axes.</summary>
    public float[] Delta = [1, 1, 1];
    /// <summary>As stored: row j is the RAS direction of voxel axis j (x_r x_a x_s, y_r ..., z_r ...).</summary>
    public float[,] Mdc = { { -1, 0, 0 }, { 0, 0, 1 }, { 0, -1, 0 } };
    /// <summary>RAS of the volume centre (voxel dims/2).</summary>
    public float[] CRas = [0, 0, 0];
    public float Tr, FlipAngle, Te, Ti, Fov;

    public static string TypeName(int type) => type switch
    {
        Uchar => "uchar (uint8)", Int => "int (int32)", Long => "long", Float => "float (float32)", Short => "short (int16)",
        _ => $"code {type}",
    };

    /// <summary>Tensor dtype, bytes per voxel and NIfTI code of an MGH type; null when unsupported.</summary>
    public static (torch.ScalarType Dtype, int Bytes, short NiftiCode)? Storage(int type) => type switch
    {
        Uchar => (torch.ScalarType.Byte, 1, NiftiDatatype.UInt8),
        Int => (torch.ScalarType.Int32, 4, NiftiDatatype.Int32),
        Float => (torch.ScalarType.Float32, 4, NiftiDatatype.Float32),
        Short => (torch.ScalarType.Int16, 2, NiftiDatatype.Int16),
        _ => null,
    };

    /// <summary>The tensor shape: [w, h, d], or [w, h, d, nframes] when there is more than one frame (as nibabel).</summary>
    public long[] Shape => Dims[3] > 1 ? [Dims[0], Dims[1], Dims[2], Dims[3]] : [Dims[0], Dims[1], Dims[2]];

    /// <summary>
    /// nibabel's get_affine: M = Mdc^T·diag(delta), translation = c_ras − M·dims/2. A header with goodRASflag 0
    /// means "no geometry": nibabel then uses delta 1, Mdc = coronal (LIA) and c_ras 0.
    /// </summary>
    public double[,] Affine()
    {
        var mdc = GoodRasFlag != 0 ? Mdc : new float[,] { { -1, 0, 0 }, { 0, 0, 1 }, { 0, -1, 0 } };
        float[] delta = GoodRasFlag != 0 ? Delta : [1, 1, 1];
        float[] c = GoodRasFlag != 0 ? CRas : [0, 0, 0];
        var m = NiftiAffine.Identity();
        for (int i = 0; i < 3; i++)
        {
            double centre = 0;
            for (int j = 0; j < 3; j++)
            {
                m[i, j] = (double)mdc[j, i] * delta[j];
                centre += m[i, j] * Dims[j] / 2.0;
            }
            m[i, 3] = c[i] - centre;
        }
        return m;
    }

    /// <summary>nibabel's _affine2header: delta = column lengths, Mdc = normalised columns, c_ras = affine·(dims/2).</summary>
    public void SetAffine(double[,] affine)
    {
        GoodRasFlag = 1;
        for (int j = 0; j < 3; j++)
        {
            double len = Math.Sqrt(affine[0, j] * affine[0, j] + affine[1, j] * affine[1, j] + affine[2, j] * affine[2, j]);
            Delta[j] = (float)len;
            for (int i = 0; i < 3; i++) Mdc[j, i] = (float)(len > 0 ? affine[i, j] / len : i == j ? 1 : 0);
        }
        for (int i = 0; i < 3; i++)
        {
            double v = affine[i, 3];
            for (int j = 0; j < 3; j++) v += affine[i, j] * Dims[j] / 2.0;
            CRas[i] = (float)v;
        }
    }

    /// <summary>
    /// A NIfTI header carrying this volume's geometry (the MGH affine as sform and qform, pixdim = delta,
    /// TR in pixdim[4]) and datatype, so the image can be written as NIfTI or back as MGH unchanged.
    /// </summary>
    public NiftiHeader ToNifti()
    {
        var h = new NiftiHeader { XyztUnits = 2 | 16, Descrip = "FreeSurfer MGH" }; // mm, ms (FreeSurfer's TR unit)
        NiftiAffine.Set(h, Affine());
        var shape = Shape;
        h.Dim[0] = shape.Length;
        for (int i = 1; i < 8; i++) h.Dim[i] = i <= shape.Length ? shape[i - 1] : 1;
        if (shape.Length == 4) h.Pixdim[4] = Tr;
        if (Storage(Type) is { } st) (h.Datatype, h.Bitpix) = (st.NiftiCode, (short)(8 * st.Bytes));
        h.SclSlope = 1;
        return h;
    }

    /// <summary>Parses the first <see cref="FieldsSize"/> bytes; version and dims are checked.</summary>
    public static MghHeader Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < FieldsSize)
            throw UnsupException.ForFile(path, $"truncated MGH header: {bytes.Length} bytes, an MGH header needs {DataOffset}");
        var b = bytes[..FieldsSize].ToArray(); // an array, so the local readers below can capture it
        int I32(int o) => BinaryPrimitives.ReadInt32BigEndian(b.AsSpan(o));
        float F32(int o) => BinaryPrimitives.ReadSingleBigEndian(b.AsSpan(o));
        var h = new MghHeader { Version = I32(0) };
        if (h.Version != 1)
            throw UnsupException.ForFile(path, $"not an MGH file (version {h.Version}, expected 1)");
        for (int i = 0; i < 4; i++) h.Dims[i] = I32(4 + 4 * i);
        h.Type = I32(20);
        h.Dof = I32(24);
        h.GoodRasFlag = BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(28));
        for (int i = 0; i < 3; i++) h.Delta[i] = F32(30 + 4 * i);
        for (int i = 0; i < 9; i++) h.Mdc[i / 3, i % 3] = F32(42 + 4 * i);
        for (int i = 0; i < 3; i++) h.CRas[i] = F32(78 + 4 * i);
        if (h.Dims.Any(d => d < 1))
            throw UnsupException.ForFile(path, $"invalid MGH dimensions: [{string.Join(", ", h.Dims)}] (each must be at least 1)");
        return h;
    }

    /// <summary>The optional footer (zeros where the file ends early).</summary>
    public void ParseFooter(ReadOnlySpan<byte> footer)
    {
        var f = footer.ToArray();
        float F32(int i) => f.Length >= 4 * i + 4 ? BinaryPrimitives.ReadSingleBigEndian(f.AsSpan(4 * i)) : 0;
        (Tr, FlipAngle, Te, Ti, Fov) = (F32(0), F32(1), F32(2), F32(3), F32(4));
    }

    /// <summary>The 284-byte big-endian header.</summary>
    public byte[] Serialize()
    {
        var b = new byte[DataOffset];
        var s = b.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(s, Version);
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteInt32BigEndian(s[(4 + 4 * i)..], Dims[i]);
        BinaryPrimitives.WriteInt32BigEndian(s[20..], Type);
        BinaryPrimitives.WriteInt32BigEndian(s[24..], Dof);
        BinaryPrimitives.WriteInt16BigEndian(s[28..], GoodRasFlag);
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteSingleBigEndian(s[(30 + 4 * i)..], Delta[i]);
        for (int i = 0; i < 9; i++) BinaryPrimitives.WriteSingleBigEndian(s[(42 + 4 * i)..], Mdc[i / 3, i % 3]);
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteSingleBigEndian(s[(78 + 4 * i)..], CRas[i]);
        return b;
    }

    public byte[] SerializeFooter()
    {
        var f = new byte[FooterSize];
        float[] v = [Tr, FlipAngle, Te, Ti, Fov];
        for (int i = 0; i < 5; i++) BinaryPrimitives.WriteSingleBigEndian(f.AsSpan(4 * i), v[i]);
        return f;
    }
}
