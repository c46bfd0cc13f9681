using System.Globalization;
using Unsup.IO.Mgh;

namespace Unsup.IO.Inspect;

/// <summary>Describes a FreeSurfer .mgh/.mgz file for <c>unsup inspect</c>.</summary>
public static class MghSummary
{
    public static FileSummary Describe(string path)
    {
        var h = VolumeFile.ReadMghHeader(path);
        using var img = VolumeFile.Read(path);
        var lines = new List<(string, string)>
        {
            ("format", "FreeSurfer MGH" + (NiftiSummary.IsGzip(path) ? ", gzip-compressed (.mgz)" : "")),
            ("shape", string.Join(" x ", img.Shape)),
            ("dtype", MghHeader.TypeName(h.Type)),
            ("voxel size (mm)", string.Join(" x ", h.Delta.Select(d => ValueStats.F(d)))),
            ("affine from", h.GoodRasFlag != 0 ? "direction cosines and c_ras (goodRASflag 1)" : "none stored (goodRASflag 0): coronal default"),
        };
        lines.AddRange(NiftiSummary.AffineRows(h.Affine()));
        lines.Add(("c_ras", string.Join("  ", h.CRas.Select(c => c.ToString("0.####", CultureInfo.InvariantCulture)))));
        if (h.Tr != 0 || h.FlipAngle != 0 || h.Te != 0 || h.Ti != 0)
            lines.Add(("TR / flip / TE / TI", $"{ValueStats.F(h.Tr)} ms / {ValueStats.F(h.FlipAngle * 180 / Math.PI)}° / {ValueStats.F(h.Te)} ms / {ValueStats.F(h.Ti)} ms"));
        lines.AddRange(ValueStats.Describe(img.Data));
        return new FileSummary("MGH volume", lines);
    }
}
