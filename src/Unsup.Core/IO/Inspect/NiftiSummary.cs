using Unsup.IO.Nifti;
using static TorchSharp.torch;

namespace Unsup.IO.Inspect;

/// <summary>Describes a NIfTI-1 or NIfTI-2 file for <c>unsup inspect</c>.</summary>
public static class NiftiSummary
{
    public static FileSummary Describe(string path)
    {
        using var img = NiftiReader.Read(path, applyScaling: false);
        var h = img.Header;
        var lines = new List<(string, string)>
        {
            ("format", $"NIfTI-{h.Version}" + (IsGzip(path) ? ", gzip-compressed" : "") + (h.BigEndian ? ", big-endian" : "")),
            ("shape", string.Join(" x ", img.Shape)),
            ("dtype", NiftiDatatype.Name(h.Datatype)),
            ($"voxel size ({SpaceUnit(h.XyztUnits)})", string.Join(" x ", img.VoxelSize.Select(ValueStats.F))),
        };
        string source = h.SformCode > 0 ? $"sform (code {h.SformCode})" : h.QformCode > 0 ? $"qform (code {h.QformCode})" : "pixdim only (no sform/qform)";
        lines.Add(("affine from", source));
        lines.AddRange(AffineRows(img.Affine));
        lines.Add(("intent", h.IntentCode == 0 ? "none" : $"{NiftiIntent.Name(h.IntentCode)} ({h.IntentCode})" + (h.IntentName.Length > 0 ? $" '{h.IntentName}'" : "")));
        lines.Add(("scl_slope / scl_inter", h.HasScaling ? $"{ValueStats.F(h.SclSlope)} / {ValueStats.F(float.IsFinite(h.SclInter) ? h.SclInter : 0)} (applied)" : "none"));
        if (h.Descrip.Length > 0) lines.Add(("description", h.Descrip));
        if (h.Extensions.Count > 0)
            lines.Add(("extensions", $"{h.Extensions.Count} (ecodes {string.Join(", ", h.Extensions.Select(e => e.Code))})"));

        using var values = img.ToFloatIfScaled();
        lines.AddRange(ValueStats.Describe(values));
        return new FileSummary($"NIfTI-{h.Version} image", lines);
    }

    static Tensor ToFloatIfScaled(this NiftiImage img) => img.Header.HasScaling ? img.ToFloat() : img.Data.alias();

    static string SpaceUnit(byte xyzt) => (xyzt & 7) switch { 1 => "m", 2 => "mm", 3 => "um", _ => "unknown units" };

    internal static IEnumerable<(string, string)> AffineRows(double[,] a) =>
        Enumerable.Range(0, 4).Select(i => ($"affine row {i + 1}",
            string.Join("  ", Enumerable.Range(0, 4).Select(j => a[i, j].ToString("0.####", System.Globalization.CultureInfo.InvariantCulture).PadLeft(9)))));

    internal static bool IsGzip(string path)
    {
        using var fs = File.OpenRead(path);
        return fs.ReadByte() == 0x1f && fs.ReadByte() == 0x8b;
    }
}
