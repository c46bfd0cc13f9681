namespace Unsup.IO.Nifti;

/// <summary>
/// Voxel-to-world (RAS+ mm) matrices from a NIfTI-1 header, with nibabel's precedence:
/// sform when sform_code &gt; 0, else qform (quaternion) when qform_code &gt; 0, else a diagonal
/// pixdim matrix centred on the volume (nibabel's "base affine").
/// </summary>
public static class NiftiAffine
{
    public static double[,] Best(NiftiHeader h) =>
        h.SformCode > 0 ? Sform(h) : h.QformCode > 0 ? Qform(h) : Base(h);

    public static double[,] Sform(NiftiHeader h)
    {
        var m = Identity();
        for (int j = 0; j < 4; j++)
        {
            m[0, j] = h.SrowX[j];
            m[1, j] = h.SrowY[j];
            m[2, j] = h.SrowZ[j];
        }
        return m;
    }

    public static double[,] Qform(NiftiHeader h)
    {
        double b = h.QuaternB, c = h.QuaternC, d = h.QuaternD;
        double a2 = 1.0 - (b * b + c * c + d * d);
        double a;
        if (a2 < 1e-7)
        {
            // Rounding in the stored floats can push |(b,c,d)| slightly above 1: renormalise, a = 0 (180° rotation).
            double n = Math.Sqrt(b * b + c * c + d * d);
            if (n > 0) { b /= n; c /= n; d /= n; }
            a = 0;
        }
        else a = Math.Sqrt(a2);

        double dx = Zoom(h.Pixdim[1]), dy = Zoom(h.Pixdim[2]), dz = Zoom(h.Pixdim[3]);
        if (h.Pixdim[0] < 0) dz = -dz; // qfac

        var m = Identity();
        m[0, 0] = (a * a + b * b - c * c - d * d) * dx;
        m[0, 1] = 2 * (b * c - a * d) * dy;
        m[0, 2] = 2 * (b * d + a * c) * dz;
        m[1, 0] = 2 * (b * c + a * d) * dx;
        m[1, 1] = (a * a + c * c - b * b - d * d) * dy;
        m[1, 2] = 2 * (c * d - a * b) * dz;
        m[2, 0] = 2 * (b * d - a * c) * dx;
        m[2, 1] = 2 * (c * d + a * b) * dy;
        m[2, 2] = (a * a + d * d - c * c - b * b) * dz;
        m[0, 3] = h.QoffsetX;
        m[1, 3] = h.QoffsetY;
        m[2, 3] = h.QoffsetZ;
        return m;
    }

    /// <summary>nibabel's fallback: diag(-dx, dy, dz) with the volume centre at the origin.</summary>
    public static double[,] Base(NiftiHeader h)
    {
        var m = Identity();
        double[] zoom = [Zoom(h.Pixdim[1]), Zoom(h.Pixdim[2]), Zoom(h.Pixdim[3])];
        zoom[0] = -zoom[0];
        for (int i = 0; i < 3; i++)
        {
            double n = i < h.NDim ? h.Dim[i + 1] : 1;
            m[i, i] = zoom[i];
            m[i, 3] = -(n - 1) / 2.0 * zoom[i];
        }
        return m;
    }

    /// <summary>
    /// Stores <paramref name="affine"/> as both sform and qform (codes given), and pixdim[1..3] as its column
    /// lengths, as nibabel does when saving an image made from an affine. The qform keeps only the rigid part.
    /// </summary>
    public static void Set(NiftiHeader h, double[,] affine, short sformCode = 2, short qformCode = 2)
    {
        h.SformCode = sformCode;
        for (int j = 0; j < 4; j++)
        {
            h.SrowX[j] = (float)affine[0, j];
            h.SrowY[j] = (float)affine[1, j];
            h.SrowZ[j] = (float)affine[2, j];
        }

        var r = new double[3, 3];
        var zoom = new double[3];
        for (int j = 0; j < 3; j++)
        {
            zoom[j] = Math.Sqrt(affine[0, j] * affine[0, j] + affine[1, j] * affine[1, j] + affine[2, j] * affine[2, j]);
            if (zoom[j] == 0) zoom[j] = 1;
            for (int i = 0; i < 3; i++) r[i, j] = affine[i, j] / zoom[j];
        }
        double det = r[0, 0] * (r[1, 1] * r[2, 2] - r[1, 2] * r[2, 1])
                   - r[0, 1] * (r[1, 0] * r[2, 2] - r[1, 2] * r[2, 0])
                   + r[0, 2] * (r[1, 0] * r[2, 1] - r[1, 1] * r[2, 0]);
        double qfac = 1;
        if (det < 0)
        {
            qfac = -1;
            for (int i = 0; i < 3; i++) r[i, 2] = -r[i, 2];
        }

        var (a, b, c, d) = Quaternion(r);
        h.QformCode = qformCode;
        h.QuaternB = (float)b; h.QuaternC = (float)c; h.QuaternD = (float)d;
        h.QoffsetX = (float)affine[0, 3]; h.QoffsetY = (float)affine[1, 3]; h.QoffsetZ = (float)affine[2, 3];
        h.Pixdim[0] = (float)qfac;
        for (int j = 0; j < 3; j++) h.Pixdim[j + 1] = (float)zoom[j];
        _ = a;
    }

    static (double a, double b, double c, double d) Quaternion(double[,] r)
    {
        double a = r[0, 0] + r[1, 1] + r[2, 2] + 1, b, c, d;
        if (a > 0.5)
        {
            a = 0.5 * Math.Sqrt(a);
            b = 0.25 * (r[2, 1] - r[1, 2]) / a;
            c = 0.25 * (r[0, 2] - r[2, 0]) / a;
            d = 0.25 * (r[1, 0] - r[0, 1]) / a;
        }
        else
        {
            double xd = 1 + r[0, 0] - (r[1, 1] + r[2, 2]);
            double yd = 1 + r[1, 1] - (r[0, 0] + r[2, 2]);
            double zd = 1 + r[2, 2] - (r[0, 0] + r[1, 1]);
            if (xd > 1)
            {
                b = 0.5 * Math.Sqrt(xd);
                c = 0.25 * (r[0, 1] + r[1, 0]) / b;
                d = 0.25 * (r[0, 2] + r[2, 0]) / b;
                a = 0.25 * (r[2, 1] - r[1, 2]) / b;
            }
            else if (yd > 1)
            {
                c = 0.5 * Math.Sqrt(yd);
                b = 0.25 * (r[0, 1] + r[1, 0]) / c;
                d = 0.25 * (r[1, 2] + r[2, 1]) / c;
                a = 0.25 * (r[0, 2] - r[2, 0]) / c;
            }
            else
            {
                d = 0.5 * Math.Sqrt(zd);
                b = 0.25 * (r[0, 2] + r[2, 0]) / d;
                c = 0.25 * (r[1, 2] + r[2, 1]) / d;
                a = 0.25 * (r[1, 0] - r[0, 1]) / d;
            }
            if (a < 0) { a = -a; b = -b; c = -c; d = -d; }
        }
        return (a, b, c, d);
    }

    static double Zoom(float p) => p > 0 ? p : 1;

    public static double[,] Identity()
    {
        var m = new double[4, 4];
        for (int i = 0; i < 4; i++) m[i, i] = 1;
        return m;
    }
}
