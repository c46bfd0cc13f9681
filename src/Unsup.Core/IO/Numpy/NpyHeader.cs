using System.Globalization;
using System.Text.RegularExpressions;
using TorchSharp;

namespace Unsup.IO.Numpy;

/// <summary>The header of a NumPy .npy array: dtype descriptor, memory order, shape and format version.</summary>
public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape, int MajorVersion, int MinorVersion)
{
    public static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Element count (1 for a 0-d array; long.MaxValue when the shape overflows).</summary>
    public long Count => Unsup.IO.TensorBytes.ByteCount(Shape, 1);

    /// <summary>"C" or "F".</summary>
    public string Order => FortranOrder ? "F" : "C";

    /// <summary>
    /// How this dtype is read: element type on disk, tensor dtype returned (uint16/uint32 widened to
    /// int32/int64, which libtorch can compute with), element size and byte order. Throws naming the dtype
    /// when it has no tensor equivalent.
    /// </summary>
    internal (torch.ScalarType Storage, torch.ScalarType Result, bool BigEndian) Layout(string path)
    {
        if (Descr.StartsWith('['))
            throw UnsupException.ForFile(path, $"structured arrays (dtype {Descr}) are not supported; save each field as its own array");
        if (Descr.Length < 2)
            throw UnsupException.ForFile(path, $"unsupported .npy dtype '{Descr}'");
        char order = Descr[0];
        string code = "<>|=".Contains(order) ? Descr[1..] : Descr;
        bool big = order == '>';
        return code switch
        {
            "f4" => (torch.ScalarType.Float32, torch.ScalarType.Float32, big),
            "f8" => (torch.ScalarType.Float64, torch.ScalarType.Float64, big),
            "u1" => (torch.ScalarType.Byte, torch.ScalarType.Byte, false),
            "i1" => (torch.ScalarType.Int8, torch.ScalarType.Int8, false),
            "b1" => (torch.ScalarType.Bool, torch.ScalarType.Bool, false),
            "i2" => (torch.ScalarType.Int16, torch.ScalarType.Int16, big),
            "u2" => (torch.ScalarType.Int16, torch.ScalarType.Int32, big),
            "i4" => (torch.ScalarType.Int32, torch.ScalarType.Int32, big),
            "u4" => (torch.ScalarType.Int32, torch.ScalarType.Int64, big),
            "i8" => (torch.ScalarType.Int64, torch.ScalarType.Int64, big),
            "O" => throw UnsupException.ForFile(path, "object arrays (dtype 'O', pickled Python objects) are not supported; save a numeric array"),
            _ when code.StartsWith('U') || code.StartsWith('S') =>
                throw UnsupException.ForFile(path, $"string arrays (dtype '{Descr}') are not supported"),
            _ => throw UnsupException.ForFile(path, $"unsupported .npy dtype '{Descr}' (supported: f4 f8 u1 i1 b1 i2 u2 i4 u4 i8)"),
        };
    }

    /// <summary>Parses the Python dict literal of the header, e.g. <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 4), }</c>.</summary>
    internal static NpyHeader ParseDict(string dict, int major, int minor, string path)
    {
        var descr = Regex.Match(dict, @"['""]descr['""]\s*:\s*(?:'([^']*)'|""([^""]*)""|(\[.*\]))", RegexOptions.Singleline);
        var fortran = Regex.Match(dict, @"['""]fortran_order['""]\s*:\s*(True|False)");
        var shape = Regex.Match(dict, @"['""]shape['""]\s*:\s*\(([^)]*)\)");
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw UnsupException.ForFile(path, $"bad .npy header (expected descr, fortran_order and shape): {Truncate(dict)}");

        string d = descr.Groups[1].Success ? descr.Groups[1].Value : descr.Groups[2].Success ? descr.Groups[2].Value : descr.Groups[3].Value;
        var dims = new List<long>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                throw UnsupException.ForFile(path, $"bad .npy header: shape ({shape.Groups[1].Value}) is not a tuple of sizes");
            dims.Add(v);
        }
        if (dims.Count > 32)
            throw UnsupException.ForFile(path, $"bad .npy header: {dims.Count} dimensions (NumPy allows at most 32)");
        return new NpyHeader(d, fortran.Groups[1].Value == "True", dims.ToArray(), major, minor);
    }

    static string Truncate(string s) => s.Length > 120 ? s[..120] + "..." : s;

    /// <summary>The descriptor a tensor of <paramref name="dtype"/> is written with.</summary>
    public static string DescrFor(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Float32 => "<f4",
        torch.ScalarType.Float64 => "<f8",
        torch.ScalarType.Byte => "|u1",
        torch.ScalarType.Int8 => "|i1",
        torch.ScalarType.Bool => "|b1",
        torch.ScalarType.Int16 => "<i2",
        torch.ScalarType.Int32 => "<i4",
        torch.ScalarType.Int64 => "<i8",
        _ => throw new UnsupException($"cannot write a .npy array from a {dtype} tensor (supported: float32, float64, uint8, int8, bool, int16, int32, int64)"),
    };
}
