namespace Unsup.Registration.Geometry;

/// <summary>4x4 homogeneous matrices (voxel-to-world affines, world transforms) as double[4,4].</summary>
public static class Matrix4
{
    public static double[,] Identity()
    {
        var m = new double[4, 4];
        for (int i = 0; i < 4; i++) m[i, i] = 1;
        return m;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        var c = new double[4, 4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
            {
                double s = 0;
                for (int k = 0; k < 4; k++) s += a[i, k] * b[k, j];
                c[i, j] = s;
            }
        return c;
    }

    /// <summary>a · b · c · ... (the rightmost applies first).</summary>
    public static double[,] Chain(params double[][,] ms) => ms.Aggregate(Multiply);

    /// <summary>Inverse of an affine 4x4 (last row 0 0 0 1).</summary>
    public static double[,] Inverse(double[,] m)
    {
        double a = m[0, 0], b = m[0, 1], c = m[0, 2], d = m[1, 0], e = m[1, 1], f = m[1, 2], g = m[2, 0], h = m[2, 1], k = m[2, 2];
        double det = a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
        if (Math.Abs(det) < 1e-12) throw new UnsupException("a voxel-to-world matrix is singular (a zero voxel size or degenerate orientation)");
        var r = new double[4, 4];
        r[0, 0] = (e * k - f * h) / det; r[0, 1] = (c * h - b * k) / det; r[0, 2] = (b * f - c * e) / det;
        r[1, 0] = (f * g - d * k) / det; r[1, 1] = (a * k - c * g) / det; r[1, 2] = (c * d - a * f) / det;
        r[2, 0] = (d * h - e * g) / det; r[2, 1] = (b * g - a * h) / det; r[2, 2] = (a * e - b * d) / det;
        for (int i = 0; i < 3; i++) r[i, 3] = -(r[i, 0] * m[0, 3] + r[i, 1] * m[1, 3] + r[i, 2] * m[2, 3]);
        r[3, 3] = 1;
        return r;
    }

    public static double[] Apply(double[,] m, double[] p) =>
        [m[0, 0] * p[0] + m[0, 1] * p[1] + m[0, 2] * p[2] + m[0, 3],
         m[1, 0] * p[0] + m[1, 1] * p[1] + m[1, 2] * p[2] + m[1, 3],
         m[2, 0] * p[0] + m[2, 1] * p[1] + m[2, 2] * p[2] + m[2, 3]];

    public static double MaxAbsDifference(double[,] a, double[,] b)
    {
        double d = 0;
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) d = Math.Max(d, Math.Abs(a[i, j] - b[i, j]));
        return d;
    }

    /// <summary>Translation matrix.</summary>
    public static double[,] Translation(double x, double y, double z)
    {
        var m = Identity();
        m[0, 3] = x; m[1, 3] = y; m[2, 3] = z;
        return m;
    }

    public static string Format(double[,] m) =>
        string.Join("; ", Enumerable.Range(0, 3).Select(i => string.Join(" ", Enumerable.Range(0, 4).Select(j => m[i, j].ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)))));
}
