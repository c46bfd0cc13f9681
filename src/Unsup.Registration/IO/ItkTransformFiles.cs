using System.Globalization;
using System.Text;
using Unsup.IO;
using Unsup.IO.Nifti;
using Unsup.Registration.Geometry;
using static TorchSharp.torch;

namespace Unsup.Registration.IO;

/// <summary>
/// Transforms written for ITK, ANTs and elastix. They describe the map from fixed physical points to moving physical
/// points (what a resampler of the moving image needs) in ITK's LPS convention: ITK reads a NIfTI header's RAS
/// coordinates and flips x and y, so every RAS vector and matrix here is conjugated by F = diag(−1, −1, 1).
/// </summary>
public static class ItkTransformFiles
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static string N(double v) => v.ToString("R", Inv);

    /// <summary>RAS → LPS for a 4x4 world transform: F·T·F.</summary>
    public static double[,] ToLps(double[,] ras)
    {
        var f = Matrix4.Identity(); f[0, 0] = -1; f[1, 1] = -1;
        return Matrix4.Chain(f, ras, f);
    }

    /// <summary>
    /// <c>#Insight Transform File V1.0</c> with one AffineTransform_double_3_3: parameters are the LPS matrix (row by row)
    /// and the translation about the fixed centre <paramref name="centreRas"/> (FixedParameters, LPS).
    /// </summary>
    public static void WriteAffine(string path, double[,] fixedToMovingRas, double[] centreRas)
    {
        var (m, t, c) = LpsParameters(fixedToMovingRas, centreRas);
        var sb = new StringBuilder();
        sb.Append("#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n");
        sb.Append("Parameters: ").Append(string.Join(" ", m.Concat(t).Select(N))).Append('\n');
        sb.Append("FixedParameters: ").Append(string.Join(" ", c.Select(N))).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Reads the first AffineTransform of an ITK text transform file back as a RAS 4x4 (fixed → moving).</summary>
    public static double[,] ReadAffine(string path)
    {
        var lines = File.ReadAllLines(path);
        double[] Values(string key) => lines.FirstOrDefault(l => l.StartsWith(key))?[key.Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, Inv)).ToArray()
            ?? throw UnsupException.ForFile(path, $"is not an ITK transform file: no '{key}' line");
        var p = Values("Parameters:"); var c = Values("FixedParameters:");
        if (p.Length != 12 || c.Length != 3) throw UnsupException.ForFile(path, "holds no 3D AffineTransform (12 parameters and a 3-value centre)");
        var lps = Matrix4.Identity();
        for (int i = 0; i < 3; i++)
        {
            double mc = 0;
            for (int j = 0; j < 3; j++) { lps[i, j] = p[i * 3 + j]; mc += p[i * 3 + j] * c[j]; }
            lps[i, 3] = p[9 + i] + c[i] - mc;
        }
        return ToLps(lps); // F·F = I: the same conjugation goes back
    }

    /// <summary>The LPS matrix (row-major), translation about the LPS centre, and the LPS centre.</summary>
    public static (double[] Matrix, double[] Translation, double[] Centre) LpsParameters(double[,] fixedToMovingRas, double[] centreRas)
    {
        var lps = ToLps(fixedToMovingRas);
        double[] c = [-centreRas[0], -centreRas[1], centreRas[2]];
        var m = new double[9]; var t = new double[3];
        for (int i = 0; i < 3; i++)
        {
            double mc = 0;
            for (int j = 0; j < 3; j++) { m[i * 3 + j] = lps[i, j]; mc += lps[i, j] * c[j]; }
            // y = M (x − c) + c + t  ⇔  t = b + M c − c
            t[i] = lps[i, 3] + mc - c[i];
        }
        return (m, t, c);
    }

    /// <summary>
    /// An ITK/ANTs displacement field on the fixed grid: <paramref name="displacementRas"/> [X, Y, Z, 3] in mm (RAS) becomes a
    /// NIfTI vector image X,Y,Z,1,3, intent DISPVECT (1006), with LPS components. The ITK inside Debian's elastix 5.0
    /// reads a 5D NIfTI as vectors only with intent VECTOR (1007; with 1006 it reads one scalar per voxel), so the
    /// elastix copy is written with <paramref name="intent"/> VECTOR; the values are the same.
    /// </summary>
    public static void WriteDisplacementField(string path, NiftiImage fixedImage, Tensor displacementRas, short intent = NiftiIntent.DispVect)
    {
        using var scope = NewDisposeScope();
        var lps = displacementRas.to(ScalarType.Float32) * tensor(new float[] { -1, -1, 1 });
        using var img = fixedImage.VectorFieldLike(lps.contiguous());
        img.Header.IntentCode = intent;
        VolumeFile.Write(path, img);
    }

    /// <summary>elastix/transformix parameters of an affine (AffineTransform, LPS, about a centre) onto the fixed image's grid.</summary>
    public static void WriteElastixAffine(string path, double[,] fixedToMovingRas, double[] centreRas, NiftiImage fixedImage, bool labels = false)
    {
        var (m, t, c) = LpsParameters(fixedToMovingRas, centreRas);
        var sb = new StringBuilder();
        sb.Append("(Transform \"AffineTransform\")\n(NumberOfParameters 12)\n");
        sb.Append("(TransformParameters ").Append(string.Join(" ", m.Concat(t).Select(N))).Append(")\n");
        sb.Append("(CenterOfRotationPoint ").Append(string.Join(" ", c.Select(N))).Append(")\n");
        sb.Append(ElastixCommon(fixedImage, labels));
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>elastix/transformix parameters pointing at an ITK displacement field (<see cref="WriteDisplacementField"/>).</summary>
    public static void WriteElastixField(string path, string fieldPath, NiftiImage fixedImage, bool labels = false)
    {
        var sb = new StringBuilder();
        sb.Append("(Transform \"DeformationFieldTransform\")\n(NumberOfParameters 0)\n");
        sb.Append("(DeformationFieldFileName \"").Append(Path.GetFullPath(fieldPath)).Append("\")\n");
        sb.Append("(DeformationFieldInterpolationOrder 1)\n");
        sb.Append(ElastixCommon(fixedImage, labels));
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>The output grid (the fixed image's, in ITK's LPS terms) and resampling settings every elastix transform file carries.</summary>
    static string ElastixCommon(NiftiImage fixedImage, bool labels)
    {
        var a = fixedImage.Affine;
        var shape = fixedImage.Shape.Take(3).ToArray();
        var spacing = new double[3]; var dir = new double[3, 3];
        for (int j = 0; j < 3; j++)
        {
            spacing[j] = Math.Sqrt(a[0, j] * a[0, j] + a[1, j] * a[1, j] + a[2, j] * a[2, j]);
            for (int i = 0; i < 3; i++) dir[i, j] = a[i, j] / spacing[j] * (i < 2 ? -1 : 1);
        }
        double[] origin = [-a[0, 3], -a[1, 3], a[2, 3]];
        // elastix lists the direction matrix column by column
        var dirList = Enumerable.Range(0, 3).SelectMany(j => Enumerable.Range(0, 3).Select(i => dir[i, j]));
        return "(InitialTransformParametersFileName \"NoInitialTransform\")\n(HowToCombineTransforms \"Compose\")\n" +
               "(FixedImageDimension 3)\n(MovingImageDimension 3)\n(FixedInternalImagePixelType \"float\")\n(MovingInternalImagePixelType \"float\")\n" +
               $"(Size {string.Join(" ", shape)})\n(Index 0 0 0)\n(Spacing {string.Join(" ", spacing.Select(N))})\n" +
               $"(Origin {string.Join(" ", origin.Select(N))})\n(Direction {string.Join(" ", dirList.Select(N))})\n(UseDirectionCosines \"true\")\n" +
               // label maps: B-spline order 0 (nearest neighbour) and an integer result
               $"(ResampleInterpolator \"FinalBSplineInterpolator\")\n(FinalBSplineInterpolationOrder {(labels ? 0 : 1)})\n" +
               "(Resampler \"DefaultResampler\")\n(DefaultPixelValue 0)\n(ResultImageFormat \"nii.gz\")\n" +
               (labels ? "(ResultImagePixelType \"int\")\n" : "(ResultImagePixelType \"float\")\n") + "(CompressResultImage \"true\")\n";
    }
}
