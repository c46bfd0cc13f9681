using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>Batched colour conversions with torchvision's tensor definitions (images [N, 3, H, W] in [0, 1]).</summary>
public static class ColorSpace
{
    /// <summary>ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, keeping a channel axis: [N, 1, H, W].</summary>
    public static Tensor Grayscale(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var w = tensor(new float[] { 0.299f, 0.587f, 0.114f }).to(rgb.dtype).to(rgb.device).view(1, 3, 1, 1);
        return (rgb * w).sum(1, keepdim: true).MoveToOuterDisposeScope();
    }

    public static Tensor RgbToHsv(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var r = rgb[.., 0]; var g = rgb[.., 1]; var b = rgb[.., 2];
        var maxc = rgb.amax([1]); var minc = rgb.amin([1]);
        var eqc = maxc.eq(minc);
        var cr = maxc - minc;
        var ones = ones_like(maxc);
        var s = cr / where(eqc, ones, maxc);
        var crDiv = where(eqc, ones, cr);
        var rc = (maxc - r) / crDiv; var gc = (maxc - g) / crDiv; var bc = (maxc - b) / crDiv;
        var isR = maxc.eq(r); var isG = maxc.eq(g) & ~isR; var isB = ~maxc.eq(g) & ~isR;
        var h = isR * (bc - gc) + isG * (2.0 + rc - bc) + isB * (4.0 + gc - rc);
        h = (h / 6.0 + 1.0).fmod(1.0);
        return stack([h, s, maxc], 1).MoveToOuterDisposeScope();
    }

    public static Tensor HsvToRgb(Tensor hsv)
    {
        using var scope = NewDisposeScope();
        var h = hsv[.., 0]; var s = hsv[.., 1]; var v = hsv[.., 2];
        var i = (h * 6.0).floor();
        var f = h * 6.0 - i;
        var sector = i.to(ScalarType.Int64).remainder(6);
        var p = (v * (1.0 - s)).clamp(0.0, 1.0);
        var q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
        var t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
        // per sector (0..5) the (r, g, b) sources, as in torchvision's _hsv2rgb
        var rOpts = stack([v, q, p, p, t, v], 1);
        var gOpts = stack([t, v, v, q, p, p], 1);
        var bOpts = stack([p, p, t, v, v, q], 1);
        var idx = sector.unsqueeze(1);
        var rgb = cat([rOpts.gather(1, idx), gOpts.gather(1, idx), bOpts.gather(1, idx)], 1);
        return rgb.MoveToOuterDisposeScope();
    }
}
