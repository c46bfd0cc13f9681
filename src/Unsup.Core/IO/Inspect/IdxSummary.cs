using Unsup.Data;

namespace Unsup.IO.Inspect;

/// <summary>Describes an IDX file (MNIST / Fashion-MNIST, plain or gzip) for <c>unsup inspect</c>.</summary>
public static class IdxSummary
{
    public static FileSummary Describe(string path)
    {
        using var t = IdxReader.Read(path);
        var lines = new List<(string, string)>
        {
            ("shape", "(" + string.Join(", ", t.shape) + ")"),
            ("dtype", DtypeName(t.dtype)),
        };
        if (t.dim() == 3) lines.Add(("reads as", $"{t.shape[0]} images of {t.shape[1]}x{t.shape[2]}"));
        lines.AddRange(ValueStats.Describe(t));
        return new FileSummary("IDX array", lines);
    }

    static string DtypeName(TorchSharp.torch.ScalarType t) => t switch
    {
        TorchSharp.torch.ScalarType.Byte => "uint8", TorchSharp.torch.ScalarType.Int8 => "int8",
        TorchSharp.torch.ScalarType.Int16 => "int16", TorchSharp.torch.ScalarType.Int32 => "int32",
        TorchSharp.torch.ScalarType.Float32 => "float32", TorchSharp.torch.ScalarType.Float64 => "float64",
        var other => other.ToString().ToLowerInvariant(),
    };
}
