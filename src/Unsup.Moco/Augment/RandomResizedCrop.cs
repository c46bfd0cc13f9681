using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// torchvision's RandomResizedCrop, per image: up to 10 tries of (area fraction ~ U(scale), aspect ratio log-uniform
/// in ratio) until the box fits, else the centre crop clamped to the ratio range; box position uniform; resized to
/// Size x Size as PIL's bilinear resize, which torchvision applies to the PIL images of the official loaders
/// (antialiased when shrinking, plain bilinear when enlarging; see <see cref="Crop"/>).
/// </summary>
public sealed class RandomResizedCrop(int size, double scaleMin = 0.08, double scaleMax = 1.0,
    double ratioMin = 3.0 / 4, double ratioMax = 4.0 / 3) : IBatchTransform
{
    public int Size { get; } = size;
    public (double min, double max) Scale { get; } = (scaleMin, scaleMax);
    public (double min, double max) Ratio { get; } = (ratioMin, ratioMax);
    const int Tries = 10;

    /// <summary>Crop boxes [N, 4] as (top, left, height, width) in pixels (float64, CPU).</summary>
    public Tensor SampleBoxes(long n, long height, long width, Generator? g)
    {
        using var scope = NewDisposeScope();
        double area = height * width;
        var target = Draw.Uniform([n, Tries], Scale.min, Scale.max, g) * area;
        var ratio = Draw.Uniform([n, Tries], Math.Log(Ratio.min), Math.Log(Ratio.max), g).exp();
        var w = (target * ratio).sqrt().round();
        var h = (target / ratio).sqrt().round();
        var ok = w.gt(0) & w.le(width) & h.gt(0) & h.le(height);
        // first successful try: weight earlier tries higher so argmax picks the first true
        var first = (ok.to(ScalarType.Float64) * (Tries - arange(Tries, dtype: ScalarType.Float64))).argmax(1, keepdim: true);
        var anyOk = ok.any(1);

        var (fh, fw) = Fallback(height, width);
        var hSel = where(anyOk, h.gather(1, first).squeeze(1), fh);
        var wSel = where(anyOk, w.gather(1, first).squeeze(1), fw);
        var uTop = rand([n], dtype: ScalarType.Float64, generator: g);
        var uLeft = rand([n], dtype: ScalarType.Float64, generator: g);
        var top = where(anyOk, minimum((uTop * (height - hSel + 1)).floor(), height - hSel), ((height - hSel) / 2).floor());
        var left = where(anyOk, minimum((uLeft * (width - wSel + 1)).floor(), width - wSel), ((width - wSel) / 2).floor());
        return stack([top, left, hSel, wSel], 1).MoveToOuterDisposeScope();
    }

    (double h, double w) Fallback(long height, long width)
    {
        double inRatio = (double)width / height;
        if (inRatio < Ratio.min) return (Math.Round(width / Ratio.min, MidpointRounding.ToEven), width);
        if (inRatio > Ratio.max) return (height, Math.Round(height * Ratio.max, MidpointRounding.ToEven));
        return (height, width);
    }

    public Tensor Apply(Tensor images, Generator? generator) => Crop(images, SampleBoxes(images.shape[0], images.shape[2], images.shape[3], generator));

    /// <summary>
    /// Crops boxes [N,4] (top, left, height, width) and resizes them to Size x Size as torchvision's resized_crop does on
    /// PIL images (PIL's bilinear resize of the cropped box): each output pixel is a triangle-weighted mean of the box's
    /// pixels, the triangle widened by the shrink factor when the box is larger than Size (antialiasing: every input
    /// pixel contributes, none is skipped) and plain bilinear interpolation when it is not. Taps stay inside the box and
    /// are renormalised, so edge pixels never blend with pixels outside it. Separable: two batched matmuls.
    /// </summary>
    public Tensor Crop(Tensor images, Tensor boxes)
    {
        using var scope = NewDisposeScope();
        long H = images.shape[2], W = images.shape[3];
        var b = boxes.to(ScalarType.Float64).cpu();
        var wy = ResizeWeights(b[.., 0], b[.., 2], H, Size).to(images.dtype).to(images.device);   // [N, Size, H]
        var wx = ResizeWeights(b[.., 1], b[.., 3], W, Size).to(images.dtype).to(images.device);   // [N, Size, W]
        var rows = images.matmul(wx.transpose(1, 2).unsqueeze(1));                               // [N, C, H, Size]
        return wy.unsqueeze(1).matmul(rows).MoveToOuterDisposeScope();                            // [N, C, Size, Size]
    }

    /// <summary>
    /// PIL's bilinear resampling weights along one axis [N, size, full] (ImagingResample: support = max(1, scale), taps
    /// weighted 1 − |pixel centre − source centre| / support, clipped to the box and normalised), for boxes starting at
    /// <paramref name="start"/> of length <paramref name="length"/> [N] resized to <paramref name="size"/> samples.
    /// </summary>
    public static Tensor ResizeWeights(Tensor start, Tensor length, long full, long size)
    {
        using var scope = NewDisposeScope();
        var s0 = start.to(ScalarType.Float64).view(-1, 1, 1);
        var len = length.to(ScalarType.Float64).view(-1, 1, 1);
        var scale = len / size;
        var support = scale.clamp_min(1.0);
        var centre = s0 + (arange(size, dtype: ScalarType.Float64).view(1, -1, 1) + 0.5) * scale;
        var pixel = arange(full, dtype: ScalarType.Float64).view(1, 1, -1);
        var w = (1 - (pixel + 0.5 - centre).abs() / support).clamp_min(0.0);
        w = w * (pixel.ge(s0) & pixel.lt(s0 + len)).to(ScalarType.Float64);
        return (w / w.sum(2, keepdim: true)).MoveToOuterDisposeScope();
    }
}
