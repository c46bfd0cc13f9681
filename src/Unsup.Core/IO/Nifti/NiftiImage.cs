using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Nifti;

/// <summary>NIfTI-1 intent codes the toolkit writes or names.</summary>
public static class NiftiIntent
{
    public const short None = 0, Label = 1002, NeuroName = 1003, DispVect = 1006, Vector = 1007;

    public static string Name(short code) => code switch
    {
        None => "none", 2 => "correl", 3 => "ttest", 4 => "ftest", 5 => "zscore", 1001 => "estimate",
        Label => "label", NeuroName => "neuroname", 1004 => "genmatrix", 1005 => "symmatrix",
        DispVect => "dispvect", Vector => "vector", 1008 => "pointset", 1009 => "triangle",
        1010 => "quaternion", 1011 => "dimless", 2001 => "time_series", 2002 => "node_index",
        2003 => "rgb_vector", 2004 => "rgba_vector", 2005 => "shape",
        _ => $"code {code}",
    };
}

/// <summary>
/// A volume in memory, whatever file it came from (NIfTI-1/2, MGH/MGZ: see <see cref="Unsup.IO.VolumeFile"/>):
/// the full NIfTI header plus the voxels as a tensor shaped like nibabel's <c>get_fdata()</c>
/// ([X, Y, Z, ...], x = first NIfTI dimension). <see cref="Data"/> holds the stored values (unsigned
/// 16/32-bit widened to int32/int64) unless the reader applied scl_slope/scl_inter.
/// The image owns <see cref="Data"/>; dispose it (or move the tensor out) when done.
/// </summary>
public sealed class NiftiImage : IDisposable
{
    public NiftiHeader Header { get; }
    public Tensor Data { get; }

    public NiftiImage(NiftiHeader header, Tensor data)
    {
        Header = header;
        Data = data;
    }

    public long[] Shape => Data.shape;

    /// <summary>Voxel spacing of the first three dimensions in the header's units (usually mm), |pixdim[1..3]|.</summary>
    public double[] VoxelSize
    {
        get
        {
            int n = Math.Min(3, Math.Max(Header.NDim, 1));
            var v = new double[n];
            for (int i = 0; i < n; i++) v[i] = Math.Abs((double)Header.Pixdim[i + 1]);
            return v;
        }
    }

    /// <summary>Voxel-to-world 4x4 (sform, else qform, else pixdim), as nibabel's <c>img.affine</c>.</summary>
    public double[,] Affine => NiftiAffine.Best(Header);

    /// <summary>Values as a new float32 tensor, with scl_slope/scl_inter applied when the header has them.</summary>
    public Tensor ToFloat()
    {
        using var scope = torch.NewDisposeScope();
        var f = Data.to_type(ScalarType.Float32);
        if (Header.HasScaling)
        {
            float inter = float.IsFinite(Header.SclInter) ? Header.SclInter : 0;
            f = f * Header.SclSlope + inter;
        }
        else if (Data.dtype == ScalarType.Float32) f = Data.clone(); // never hand out an alias of Data
        return f.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A new image with this image's header (geometry, units, intent, description) and other voxels:
    /// dims and datatype follow <paramref name="data"/>, scaling and display range are reset.
    /// E.g. a moved image written in the fixed image's space. Takes ownership of <paramref name="data"/>.
    /// </summary>
    public NiftiImage Like(Tensor data, short? intentCode = null) => new(HeaderLike(Header, data, intentCode), data);

    /// <summary>
    /// A displacement field [X, Y, Z, 3] (or [X, Y, Z, 1, 3]) in this image's space, stored the NIfTI way as
    /// a 5D vector image X,Y,Z,1,3 with intent VECTOR (1007). Takes ownership of <paramref name="field"/>.
    /// </summary>
    public NiftiImage VectorFieldLike(Tensor field)
    {
        if (!(field.dim() == 4 && field.shape[3] == 3) && !(field.dim() == 5 && field.shape[3] == 1 && field.shape[4] == 3))
            throw new ArgumentException($"a vector field must be [X,Y,Z,3] or [X,Y,Z,1,3], got [{string.Join(",", field.shape)}]");
        var f5 = field.dim() == 4 ? field.unsqueeze(3) : field;
        var h = HeaderLike(Header, f5, NiftiIntent.Vector);
        h.IntentName = "";
        return new NiftiImage(h, f5);
    }

    /// <summary>A fresh image from voxels and a voxel-to-world affine (stored as sform and qform, code 2 "aligned").</summary>
    public static NiftiImage Create(Tensor data, double[,]? affine = null, string description = "", short intentCode = 0)
    {
        var h = new NiftiHeader { XyztUnits = 2 | 8, Descrip = description }; // mm, s
        NiftiAffine.Set(h, affine ?? NiftiAffine.Identity());
        h = HeaderLike(h, data, intentCode);
        return new NiftiImage(h, data);
    }

    static NiftiHeader HeaderLike(NiftiHeader template, Tensor data, short? intentCode)
    {
        var h = template.Clone();
        SetDims(h, data);
        h.SclSlope = 1;
        h.SclInter = 0;
        h.CalMin = h.CalMax = 0;
        h.Glmin = h.Glmax = 0;
        if (intentCode is short ic)
        {
            h.IntentCode = ic;
            h.IntentP1 = h.IntentP2 = h.IntentP3 = 0;
        }
        return h;
    }

    /// <summary>Makes dim[], datatype and bitpix describe <paramref name="data"/>; pixdim of new dimensions defaults to 1.</summary>
    internal static void SetDims(NiftiHeader h, Tensor data)
    {
        int n = (int)data.dim();
        if (n < 1 || n > 7)
            throw new UnsupException($"a NIfTI image needs 1 to 7 dimensions, the tensor has {n} ([{string.Join(",", data.shape)}])");
        foreach (var s in data.shape)
            if (s < 1)
                throw new UnsupException($"NIfTI dimensions must be at least 1, the tensor is [{string.Join(",", data.shape)}]");
        h.Dim[0] = n;
        for (int i = 1; i < 8; i++)
        {
            h.Dim[i] = i <= n ? data.shape[i - 1] : 1;
            if (i <= n && !(h.Pixdim[i] > 0)) h.Pixdim[i] = 1;
        }
        (h.Datatype, h.Bitpix) = NiftiDatatype.ForWrite(data.dtype);
    }

    public void Dispose() => Data.Dispose();
}
