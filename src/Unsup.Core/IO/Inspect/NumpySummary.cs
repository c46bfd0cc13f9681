using Unsup.IO.Numpy;

namespace Unsup.IO.Inspect;

/// <summary>Describes a NumPy .npy or .npz file for <c>unsup inspect</c>: per array shape, dtype, order, range, labels.</summary>
public static class NumpySummary
{
    public static FileSummary Describe(string path)
    {
        if (IsZip(path))
        {
            var lines = new List<(string, string)>();
            var keys = NpzReader.Keys(path);
            lines.Add(("arrays", keys.Count == 0 ? "(none)" : string.Join(", ", keys)));
            foreach (var key in keys)
            {
                using var t = NpzReader.Read(path, key, out var h);
                lines.AddRange(DescribeArray(t, h, key + " "));
            }
            return new FileSummary("NumPy .npz archive", lines);
        }
        using var a = NpyReader.Read(path, out var header);
        return new FileSummary("NumPy .npy array", DescribeArray(a, header, ""));
    }

    static List<(string, string)> DescribeArray(TorchSharp.torch.Tensor t, NpyHeader h, string prefix)
    {
        var lines = new List<(string, string)>
        {
            (prefix + "shape", "(" + string.Join(", ", h.Shape) + (h.Shape.Length == 1 ? ",)" : ")")),
            (prefix + "dtype", $"{h.Descr} ({DtypeName(h.Descr)})"),
            (prefix + "order", h.FortranOrder ? "Fortran (F)" : "C"),
        };
        lines.AddRange(ValueStats.Describe(t, prefix));
        return lines;
    }

    static string DtypeName(string descr) => descr.TrimStart('<', '>', '|', '=') switch
    {
        "f4" => "float32", "f8" => "float64", "u1" => "uint8", "i1" => "int8", "b1" => "bool",
        "i2" => "int16", "u2" => "uint16", "i4" => "int32", "u4" => "uint32", "i8" => "int64",
        var other => other,
    };

    static bool IsZip(string path)
    {
        if (!File.Exists(path)) throw UnsupException.ForFile(path, "file not found");
        using var fs = File.OpenRead(path);
        Span<byte> b = stackalloc byte[4];
        int n = fs.Read(b);
        return n == 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5) && (b[3] == 4 || b[3] == 6);
    }
}
