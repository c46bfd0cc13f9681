using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Unsup.IO.Inspect;

/// <summary>Value range and label set of an array, computed with tensor ops (no per-voxel C#).</summary>
public static class ValueStats
{
    /// <summary>Label sets larger than this are not listed (the image is treated as continuous).</summary>
    public const int MaxLabels = 1000;
    /// <summary>How many label values are printed before "...".</summary>
    public const int ListedLabels = 40;

    /// <summary>Lines "range", optionally "non-finite", and for integer-valued data "labels".</summary>
    public static List<(string Key, string Value)> Describe(Tensor t, string prefix = "")
    {
        var lines = new List<(string, string)>();
        using var scope = torch.NewDisposeScope();
        if (t.numel() == 0)
        {
            lines.Add((prefix + "range", "(empty)"));
            return lines;
        }
        var x = t.dtype == ScalarType.Bool ? t.to_type(ScalarType.Byte) : t;
        bool isFloat = x.is_floating_point();
        var values = x;
        if (isFloat)
        {
            var finite = x.isfinite();
            long bad = x.numel() - finite.sum().item<long>();
            if (bad > 0)
            {
                lines.Add((prefix + "non-finite", $"{bad} values (NaN/Inf), excluded from the range"));
                values = x.masked_select(finite);
            }
        }
        if (values.numel() == 0)
        {
            lines.Add((prefix + "range", "no finite values"));
            return lines;
        }
        var v64 = values.to_type(ScalarType.Float64);
        double min = v64.min().item<double>(), max = v64.max().item<double>(), mean = v64.mean().item<double>();
        lines.Add((prefix + "range", $"min {F(min)}, max {F(max)}, mean {F(mean)}"));

        bool integral = !isFloat || values.eq(values.round()).all().item<bool>();
        if (integral)
        {
            var u = values.unique().output.to_type(ScalarType.Float64);
            long n = u.numel();
            if (n <= MaxLabels)
            {
                var list = u.narrow(0, 0, Math.Min(n, ListedLabels)).data<double>().ToArray();
                string text = string.Join(", ", list.Select(F)) + (n > ListedLabels ? ", ..." : "");
                lines.Add((prefix + "labels", $"{n} distinct: {text}"));
            }
            else lines.Add((prefix + "labels", $"integer-valued, {n} distinct values (> {MaxLabels}: not a label map)"));
        }
        return lines;
    }

    public static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
