using static TorchSharp.torch;

namespace Unsup.Moco.Augment;

/// <summary>
/// torchvision's RandomResizedCrop, per image: up to 10 tries of (area fraction ~ U(scale), aspect ratio log-uniform
/// in ratio) until the box fits, else the centre crop clamped to the ratio range; box position uniform; resized to
/// Size x Size with bilinear sampling (one grid_sample over per-image sample grids: the same sample points and
/// weights as torchvision's resized_crop with antialias off; no antialiasing when shrinking).
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

    /// <summary>Crops boxes [N,4] (top, left, height, width) and resizes them to Size x Size.</summary>
    public Tensor Crop(Tensor images, Tensor boxes)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0], H = images.shape[2], W = images.shape[3];
        var b = boxes.to(ScalarType.Float64);
        var grid = stack([
            Axis(b[.., 1], b[.., 3], W).unsqueeze(1).expand(n, Size, Size),
            Axis(b[.., 0], b[.., 2], H).unsqueeze(2).expand(n, Size, Size)], 3);
        var output = nn.functional.grid_sample(images, grid.to(images.dtype).to(images.device),
            GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Normalised sample positions [N, Size] along one axis: torch's bilinear resize of the cropped box
    /// (source = start + (o + 0.5)·len/Size − 0.5), clamped to the box so edge pixels never blend with pixels outside
    /// it (torchvision crops first, then resizes). Equivalent to affine_grid except for that clamp.
    /// </summary>
    Tensor Axis(Tensor start, Tensor length, long full)
    {
        var o = arange(Size, dtype: ScalarType.Float64).view(1, -1) + 0.5;
        var src = start.view(-1, 1) + o * (length / Size).view(-1, 1) - 0.5;
        src = maximum(minimum(src, (start + length - 1).view(-1, 1)), start.view(-1, 1));
        return (2 * src + 1) / full - 1;
    }
}
